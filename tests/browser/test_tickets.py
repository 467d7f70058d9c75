"""An owner's tickets in Chromium at phone size: every QR code drawn on the confirmation
page decodes (zxing-cpp, from a screenshot) to the code printed under it, and nothing
overflows the screen."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from tests.support import factories
from tickets.models import Attendee, Registration, Ticket
from tickets.services import registrations as wizard

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_each_qr_on_the_confirmation_page_scans_to_its_code(asgi_server, new_context) -> None:
    function = factories.make_function(name="Grand Proclamation")
    banquet = factories.make_ticket_type(
        factories.make_event(function, name="Grand Banquet"), name="Banquet seat"
    )
    page = new_context(viewport=PHONE).new_page()
    page.goto(f"{asgi_server.url}{function.get_absolute_url()}")
    page.fill(f"#quantity-{banquet.pk}", "2")
    page.click(f"#buy-{banquet.pk}")
    expect(page.get_by_role("heading", name="Your tickets")).to_be_visible()
    # The browser holds the seats (and so owns the registration); the rest of the wizard
    # is not what this test is about.
    registration = Registration.objects.get()
    factories.reach_payment(
        registration,
        [
            factories.attendee("Alan", banquet),
            factories.attendee(
                "Mary", banquet, attendee_type=Attendee.Type.LADY_PARTNER, partner_of=0
            ),
        ],
    )
    wizard.confirm_registration(registration.pk, payment_method="door", payment_status="pending")

    page.goto(f"{asgi_server.url}/registrations/{registration.pk}/confirmation/")
    expect(page.get_by_role("heading", name="You are registered")).to_be_visible()

    tickets = Ticket.objects.filter(hold__registration=registration)
    assert tickets.count() == 2
    for ticket in tickets:
        card = page.locator(f"#ticket-{ticket.pk}")
        expect(card).to_have_attribute("data-code", ticket.code)
        expect(card.locator(".ticket__code")).to_have_text(f"Code {ticket.code}")
        card.scroll_into_view_if_needed()
        image = Image.open(io.BytesIO(card.locator("svg").screenshot()))
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [ticket.code]
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
