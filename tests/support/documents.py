"""Reading what the product writes - PDFs, QR codes, calendars - with libraries that did not
write them: pypdf reads the text, pypdfium2 draws each page, zxing-cpp decodes its QR codes,
icalendar parses the .ics."""

from __future__ import annotations

import io

import icalendar
import pypdfium2
import zxingcpp
from pypdf import PdfReader

_QR = zxingcpp.BarcodeFormat.QRCode


def pdf_pages_text(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def qr_codes_per_page(content: bytes, *, scale: float = 2.0) -> list[list[str]]:
    """The text of every QR code on each page, drawn at `scale` times 72 dpi."""
    document = pypdfium2.PdfDocument(content)
    try:
        decoded = []
        for index in range(len(document)):
            image = document[index].render(scale=scale).to_pil()
            decoded.append([result.text for result in zxingcpp.read_barcodes(image, formats=_QR)])
        return decoded
    finally:
        document.close()


def calendar_events(content: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(content).walk("VEVENT"))
