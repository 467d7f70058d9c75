"""Fonts for the PDFs. Names on tickets and invoices are not all Latin-1 (Ōtaki, Łukasz):
PDF's standard fonts cover only WinAnsi (about Latin-1), and need no embedding. A document
whose text fits them uses Helvetica and stays small; one that does not embeds DejaVu Sans,
subset to the glyphs used (about 20 KB a face), where it is installed (Debian:
fonts-dejavu-core). Without it such characters print as boxes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

_DEJAVU_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)


@dataclass(frozen=True)
class PdfFonts:
    regular: str
    bold: str


STANDARD = PdfFonts(regular="Helvetica", bold="Helvetica-Bold")


def pdf_fonts(texts: Iterable[str]) -> PdfFonts:
    """The fonts for a document carrying these texts."""
    if all(_fits_standard_fonts(text) for text in texts):
        return STANDARD
    return _unicode_fonts()


def _fits_standard_fonts(text: str) -> bool:
    try:
        text.encode("cp1252")  # reportlab writes standard fonts in WinAnsiEncoding
    except UnicodeEncodeError:
        return False
    return True


@cache
def _unicode_fonts() -> PdfFonts:
    for directory in _DEJAVU_DIRS:
        regular, bold = directory / "DejaVuSans.ttf", directory / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
            pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold)))
            pdfmetrics.registerFontFamily("DejaVuSans", normal="DejaVuSans", bold="DejaVuSans-Bold")
            return PdfFonts(regular="DejaVuSans", bold="DejaVuSans-Bold")
    return STANDARD
