"""The tickets PDF: a page per ticket, each QR decoding to exactly its code."""

from __future__ import annotations

import time

import pytest

from tests.support.documents import pdf_pages_text, qr_codes_per_page
from tickets.documents import fonts
from tickets.documents.tickets_pdf import tickets_pdf
from tickets.documents.values import TicketCard
from tickets.models import new_secret_key


def card(code: str, **fields) -> TicketCard:
    values = {
        "code": code,
        "function_name": "Grand Proclamation 2027",
        "event_name": "Grand Banquet",
        "when": "Saturday 6 March 2027, 6:30 PM",
        "where": "Sydney Town Hall",
        "holder": "Alan Reid",
        "ticket_type": "Dinner",
        "confirmation_number": "IND-ABC123",
    }
    return TicketCard(**{**values, **fields})


def test_one_page_per_ticket_and_each_qr_carries_its_code_printed_under_it() -> None:
    codes = [new_secret_key() for _ in range(3)]
    content = tickets_pdf(
        [card(codes[0]), card(codes[1], holder="Unnamed seat (lodge table 1)"), card(codes[2])]
    )

    texts = pdf_pages_text(content)
    assert len(texts) == 3
    for code, text in zip(codes, texts, strict=True):
        assert code in text
        assert "Grand Banquet" in text
        assert "Sydney Town Hall" in text
    assert "Unnamed seat (lodge table 1)" in texts[1]
    assert qr_codes_per_page(content) == [[code] for code in codes]


def test_long_names_wrap_and_the_qr_still_decodes() -> None:
    code = new_secret_key()
    content = tickets_pdf(
        [card(code, holder="Right Worshipful Brother " + "Bartholomew-Fitzwilliam " * 4)]
    )
    assert qr_codes_per_page(content) == [[code]]


def test_twenty_tickets_are_small_and_quick() -> None:
    cards = [card(new_secret_key(), holder="Unnamed seat (lodge table 1)") for _ in range(20)]
    started = time.perf_counter()
    content = tickets_pdf(cards)
    elapsed = time.perf_counter() - started
    assert len(pdf_pages_text(content)) == 20
    # Standard fonts (nothing embedded) and vector QR codes: about 2 KB a page, well under a
    # second for a lodge.
    assert len(content) < 20 * 3_000
    assert elapsed < 1.0


def test_names_beyond_latin_1_print_as_written() -> None:
    if fonts.pdf_fonts(["Ō"]) is fonts.STANDARD:
        pytest.skip("DejaVu Sans is not installed (Debian: fonts-dejavu-core)")
    code = new_secret_key()
    content = tickets_pdf([card(code, holder="Hēmi Ōtaki"), card(new_secret_key())])
    assert "Hēmi Ōtaki" in pdf_pages_text(content)[0]
    assert qr_codes_per_page(content)[0] == [code]
