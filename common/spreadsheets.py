"""Cells for files people open in a spreadsheet.

A CSV cell that starts with `=`, `+`, `-` or `@` is a formula to Excel, LibreOffice and
Google Sheets (`=HYPERLINK(...)`, `=cmd|...`), and a leading tab or carriage return can
hide one. Anything a visitor typed reaches our exports, so every exported cell goes
through `safe_cell`, which prefixes such text with `'` as OWASP's CSV injection advice
says: the spreadsheet then shows the text as it was typed.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """`value` as a spreadsheet will show it, never run it: text that would start a formula
    gets a leading `'`; numbers and everything else pass as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: dict[str, object]) -> dict[str, object]:
    """`safe_cell` over every value of a csv.DictWriter row."""
    return {name: safe_cell(value) for name, value in row.items()}
