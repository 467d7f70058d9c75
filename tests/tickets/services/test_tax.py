"""GST inside GST-inclusive prices."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tickets.services.tax import gst_included


@pytest.mark.parametrize(
    ("total", "gst"),
    [
        ("110.00", "10.00"),
        ("100.00", "9.09"),
        ("0.00", "0.00"),
        ("23000.00", "2090.91"),
        # 0.055 rounds half up to the cent.
        ("0.605", "0.06"),
    ],
)
def test_gst_is_one_eleventh_rounded_to_the_cent(total: str, gst: str) -> None:
    assert gst_included(Decimal(total)) == Decimal(gst)
