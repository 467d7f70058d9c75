"""The tax invoice PDF (A4): organiser and ABN, invoice number (the confirmation number),
date, buyer, the lines, the total and the GST it includes."""

from __future__ import annotations

import io

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tickets.documents.fonts import PdfFonts, pdf_fonts
from tickets.documents.values import TaxInvoice
from tickets.templatetags.money import money


def tax_invoice_pdf(invoice: TaxInvoice) -> bytes:
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Tax invoice {invoice.number}",
        author=invoice.organiser.name,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    fonts = pdf_fonts(_texts_of(invoice))
    styles = getSampleStyleSheet()
    body = ParagraphStyle("InvoiceBody", parent=styles["BodyText"], fontName=fonts.regular)
    heading = ParagraphStyle(
        "InvoiceTitle", parent=styles["Title"], alignment=TA_LEFT, fontName=fonts.bold
    )
    organiser = invoice.organiser
    story = [
        Paragraph("Tax invoice", heading),
        Paragraph(f"<b>{_escape(organiser.name or invoice.function_name)}</b>", body),
        Paragraph(f"ABN {_escape(organiser.abn)}" if organiser.abn else "", body),
        Spacer(1, 4 * mm),
        Table(
            [
                ["Invoice number", invoice.number],
                ["Date", invoice.issued_on.strftime("%-d %B %Y")],
                ["For", invoice.function_name],
                ["Bill to", _buyer(invoice)],
            ],
            colWidths=[35 * mm, None],
            style=TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), fonts.regular),
                    ("FONTNAME", (0, 0), (0, -1), fonts.bold),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            ),
            hAlign="LEFT",
        ),
        Spacer(1, 6 * mm),
        _lines_table(invoice, fonts),
        Spacer(1, 6 * mm),
        Paragraph(_escape(invoice.payment_note), body),
    ]
    document.build(story)
    return buffer.getvalue()


def _texts_of(invoice: TaxInvoice) -> list[str]:
    lines = [(line.description, line.quantity_label) for line in invoice.lines]
    return [
        invoice.organiser.name,
        invoice.organiser.abn,
        invoice.function_name,
        _buyer(invoice),
        invoice.payment_note,
        *(text for pair in lines for text in pair),
    ]


def _buyer(invoice: TaxInvoice) -> str:
    parts = [invoice.buyer_organisation, invoice.buyer_name, invoice.buyer_email]
    return "\n".join(part for part in parts if part)


def _lines_table(invoice: TaxInvoice, fonts: PdfFonts) -> Table:
    rows = [["Description", "Quantity", "Unit price", "Amount"]]
    rows += [
        [line.description, line.quantity_label, money(line.unit_price), money(line.line_total)]
        for line in invoice.lines
    ]
    rows += [
        ["", "", "Total (GST inclusive)", money(invoice.total)],
        ["", "", "GST included", money(invoice.gst)],
    ]
    total_row = len(rows) - 2
    return Table(
        rows,
        colWidths=[None, 32 * mm, 38 * mm, 26 * mm],
        repeatRows=1,
        style=TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), fonts.regular),
                ("FONTNAME", (0, 0), (-1, 0), fonts.bold),
                ("LINEBELOW", (0, 0), (-1, 0), 0.75, colors.black),
                ("LINEABOVE", (0, total_row), (-1, total_row), 0.75, colors.black),
                ("FONTNAME", (2, total_row), (-1, total_row), fonts.bold),
                ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        ),
    )


def _escape(text: str) -> str:
    """Paragraph text is a small markup language: buyer-typed text must not be markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
