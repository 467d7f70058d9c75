"""Shared utilities of the product apps: nothing here knows the domain.

Every app may import from `common`; `common` imports no app (import-linter checks both).
"""
