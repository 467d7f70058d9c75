"""The tax invoice PDF carries what an Australian tax invoice needs."""

from __future__ import annotations

import datetime
from decimal import Decimal

from tests.support.documents import pdf_pages_text
from tickets.documents.invoice import tax_invoice_pdf
from tickets.documents.values import InvoiceLine, Organiser, TaxInvoice


def test_the_invoice_names_organiser_abn_number_buyer_lines_total_and_gst() -> None:
    invoice = TaxInvoice(
        number="LDG-XYZ789",
        issued_on=datetime.date(2027, 1, 4),
        organiser=Organiser(name="United Grand Lodge of NSW & ACT", abn="93 000 000 001"),
        function_name="Grand Proclamation 2027",
        buyer_name="Sec <script>",
        buyer_email="sec@example.com",
        buyer_organisation="Lodge Antiquity No. 1",
        lines=(
            InvoiceLine(
                description="Banquet: Dinner",
                quantity_label="2 tables (20 seats)",
                quantity=20,
                unit_price=Decimal("1150.00"),
                line_total=Decimal("23000.00"),
            ),
        ),
        total=Decimal("23000.00"),
        gst=Decimal("2090.91"),
        payment_note="Please pay by 18 January 2027.",
    )
    content = tax_invoice_pdf(invoice)
    # Latin-1 text: the standard fonts, nothing embedded.
    assert len(content) < 10_000
    [text] = pdf_pages_text(content)
    for expected in (
        "Tax invoice",
        "United Grand Lodge of NSW & ACT",
        "ABN 93 000 000 001",
        "LDG-XYZ789",
        "4 January 2027",
        "Lodge Antiquity No. 1",
        "Sec <script>",
        "2 tables (20 seats)",
        "$1,150.00",
        "$23,000.00",
        "GST included",
        "$2,090.91",
        "Please pay by 18 January 2027.",
    ):
        assert expected in text, expected
