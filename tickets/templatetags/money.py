"""Money as people read it: `{{ price|money }}` gives "$1,234.50" (thousands separated,
always cents), the same shape selection.js writes the running total in."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def money(amount: Decimal | int | float | str | None) -> str:
    if amount in (None, ""):
        return ""
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"
