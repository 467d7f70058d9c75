"""axe-core finds no violations on the pages a buyer walks through, at desktop and phone
sizes (the pinned npm package; tests/support/axe.py)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.axe import axe_violations, require_axe
from tests.support.browser import fill_attendee
from tests.support.factories import make_event, make_function, make_ticket_type

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", VIEWPORTS)
def test_the_buyers_pages_have_no_violations(asgi_server, new_context, size):
    require_axe()
    function = make_function(slug="grand-proclamation", name="Grand Proclamation")
    banquet = make_ticket_type(
        make_event(function, name="Grand Banquet"), name="Banquet seat", capacity=12
    )
    page = new_context(viewport=VIEWPORTS[size]).new_page()
    seen: dict[str, list] = {}

    page.goto(f"{asgi_server.url}/")
    seen["function list"] = axe_violations(page)

    page.goto(f"{asgi_server.url}{function.get_absolute_url()}")
    expect(page.locator("#live-indicator")).to_have_attribute("data-live", "true")
    seen["function page"] = axe_violations(page)

    page.click(f"#buy-{banquet.pk}")
    expect(page.get_by_role("heading", name="Your tickets")).to_be_visible()
    seen["tickets step"] = axe_violations(page)

    page.click("#continue")
    expect(page.get_by_role("heading", name="Who is attending?")).to_be_visible()
    seen["attendees step"] = axe_violations(page)
    fill_attendee(page.locator("fieldset.attendee").first, attending_as="guest")
    page.click("#continue")

    expect(page.get_by_role("heading", name="Check your registration")).to_be_visible()
    seen["review step"] = axe_violations(page)
    page.click("#continue")

    expect(page.get_by_role("heading", name="Payment")).to_be_visible()
    seen["payment step"] = axe_violations(page)
    page.get_by_label(re.compile("Invoice")).check()
    page.click("#confirm")

    expect(page.get_by_role("heading", name="You are registered")).to_be_visible()
    seen["confirmation"] = axe_violations(page)

    assert {name: found for name, found in seen.items() if found} == {}
