"""Outgoing mail: a row per message, written in the transaction that causes it, delivered
later with retries (docs/design.md §10). Imports no other app: apps register renderers."""
