"""The documents a confirmation carries: the tax invoice, the tickets and calendar entries.

Pure functions from plain values (tickets.documents.values) to bytes: no database, no
request, so each is tested and timed on its own and the mail renderer only gathers values.
"""
