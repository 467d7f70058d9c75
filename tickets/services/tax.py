"""Tax on what the buyer pays. Prices are GST-inclusive (docs/design.md §10): the GST in a
taxable price is one eleventh of it."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def gst_included(amount: Decimal) -> Decimal:
    """The GST inside a GST-inclusive `amount`, rounded to the cent (half up, as the ATO
    rounds a tax invoice's total)."""
    return (amount / 11).quantize(CENT, rounding=ROUND_HALF_UP)
