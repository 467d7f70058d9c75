"""QR codes for ticket codes (segno encodes; nothing here knows the QR format)."""

from __future__ import annotations

from collections.abc import Iterator

import segno

# Medium error correction: survives a crease or a cracked phone screen, and a 22-character
# code still fits a small symbol.
_ERROR = "m"


def qr_svg(data: str, *, scale: int = 4, title: str = "") -> str:
    """An inline <svg> element (no XML declaration) for an HTML page; a viewBox and no
    fixed size, so the page's CSS sizes it."""
    svg = segno.make(data, error=_ERROR, micro=False).svg_inline(
        scale=scale,
        border=4,
        title=title or None,
        svgclass="ticket-qr",
        lineclass=None,
        omitsize=True,
    )
    # Named by its <title> for assistive technology.
    return svg.replace("<svg ", '<svg role="img" ', 1)


def qr_dark_runs(data: str) -> tuple[int, Iterator[tuple[int, int, int]]]:
    """The symbol's size in modules (quiet zone included) and its dark modules as
    horizontal runs (row, first column, length): what a vector drawing needs."""
    symbol = segno.make(data, error=_ERROR, micro=False)
    matrix = [list(row) for row in symbol.matrix_iter(border=4)]

    def runs() -> Iterator[tuple[int, int, int]]:
        for y, row in enumerate(matrix):
            x = 0
            while x < len(row):
                if row[x]:
                    start = x
                    while x < len(row) and row[x]:
                        x += 1
                    yield y, start, x - start
                else:
                    x += 1

    return len(matrix), runs()
