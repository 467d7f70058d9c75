"""The tickets PDF: one A6 page per ticket, its QR code carrying exactly the ticket's code
and the code printed under it for when a scan fails."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import astuple

from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from tickets.documents.fonts import PdfFonts, pdf_fonts
from tickets.documents.qr import qr_dark_runs
from tickets.documents.values import TicketCard

_WIDTH, _HEIGHT = A6
_MARGIN = 10 * mm
_QR_SIZE = 60 * mm


def tickets_pdf(cards: Sequence[TicketCard]) -> bytes:
    buffer = io.BytesIO()
    # Compressed pages, one font subset for the document: a few KB per ticket.
    canvas = Canvas(buffer, pagesize=A6, pageCompression=1)
    canvas.setTitle("Tickets")
    fonts = pdf_fonts(text for card in cards for text in astuple(card))
    for card in cards:
        _draw_ticket(canvas, card, fonts)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_ticket(canvas: Canvas, card: TicketCard, fonts: PdfFonts) -> None:
    regular, bold = fonts.regular, fonts.bold
    width = _WIDTH - 2 * _MARGIN
    y = _HEIGHT - _MARGIN - 4 * mm
    y = _lines(canvas, card.function_name, regular, 9, y, width)
    y = _lines(canvas, card.event_name, bold, 14, y - 1 * mm, width)
    y = _lines(canvas, card.when, regular, 9, y, width)
    if card.where:
        y = _lines(canvas, card.where, regular, 9, y, width)
    y = _lines(canvas, card.holder, bold, 11, y - 2 * mm, width)
    _lines(canvas, card.ticket_type, regular, 9, y, width)

    qr_bottom = _MARGIN + 16 * mm
    _draw_qr(canvas, card.code, (_WIDTH - _QR_SIZE) / 2, qr_bottom, _QR_SIZE)
    canvas.setFont("Courier-Bold", 10)
    canvas.drawCentredString(_WIDTH / 2, qr_bottom - 5 * mm, card.code)
    canvas.setFont(regular, 7)
    canvas.drawCentredString(
        _WIDTH / 2, _MARGIN, f"Registration {card.confirmation_number} · one entry per ticket"
    )


def _lines(canvas: Canvas, text: str, font: str, size: float, y: float, width: float) -> float:
    """Draw `text` wrapped to `width` from baseline `y` down; returns the next baseline."""
    canvas.setFont(font, size)
    for line in simpleSplit(text, font, size, width)[:3]:
        canvas.drawString(_MARGIN, y, line)
        y -= size * 1.3
    return y


def _draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    modules, runs = qr_dark_runs(data)
    module = size / modules
    canvas.setFillColorRGB(0, 0, 0)
    path = canvas.beginPath()
    for row, column, length in runs:
        # Row 0 is the top of the symbol; PDF's y grows upwards.
        path.rect(x + column * module, y + size - (row + 1) * module, length * module, module)
    canvas.drawPath(path, stroke=0, fill=1)
