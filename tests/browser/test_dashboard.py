"""Staff watch the live dashboard while a buyer in another browser holds and confirms: the
held, then sold, figures and the sales chart change without a reload, within 2 s
(docs/design.md §14)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_door import PHONE, sign_in
from tests.support.axe import axe_violations
from tests.support.browser import fill_attendee
from tests.support.factories import make_event, make_function, make_ticket_type, staff_user

pytestmark = pytest.mark.browser

WITHIN_MS = 2000


def test_the_dashboard_follows_a_buyer_without_a_reload(asgi_server, new_context):
    function = make_function(slug="grand-proclamation", name="Grand Proclamation")
    banquet = make_ticket_type(
        make_event(function, name="Grand Banquet"), name="Banquet seat", capacity=12
    )
    staff_user("organiser", "view_dashboard", "send_broadcast")
    staff = new_context(**PHONE).new_page()
    sign_in(staff, asgi_server.url, "organiser")
    staff.goto(f"{asgi_server.url}/staff/functions/{function.slug}/")
    expect(staff.locator("#live-indicator")).to_have_attribute("data-live", "true")
    staff.evaluate("window.neverReloaded = true")
    line = staff.locator(f"#dash-ticket-type-{banquet.pk}")
    chart = staff.locator("#dash-sales-chart")
    expect(line).to_have_attribute("data-held", "0")
    expect(chart).to_have_attribute("data-peak", "0")
    assert axe_violations(staff) == []

    buyer = new_context().new_page()
    buyer.goto(f"{asgi_server.url}{function.get_absolute_url()}")
    buyer.click(f"#buy-{banquet.pk}")
    expect(buyer.get_by_role("heading", name="Your tickets")).to_be_visible()
    expect(line).to_have_attribute("data-held", "1", timeout=WITHIN_MS)
    expect(line).to_have_attribute("data-available", "11")
    # The buyer is on the function's pages: counted, by step.
    expect(staff.locator("#dash-presence")).to_have_attribute("data-total", "1", timeout=5000)

    buyer.click("#continue")
    fill_attendee(buyer.locator("fieldset.attendee").first, lodge="Lodge Antiquity")
    buyer.click("#continue")
    expect(buyer.get_by_role("heading", name="Check your registration")).to_be_visible()
    buyer.click("#continue")
    buyer.get_by_label(re.compile("Invoice")).check()
    buyer.click("#confirm")
    expect(buyer.get_by_role("heading", name="You are registered")).to_be_visible()

    expect(line).to_have_attribute("data-sold", "1", timeout=WITHIN_MS)
    expect(line).to_have_attribute("data-held", "0")
    expect(chart).to_have_attribute("data-peak", "1", timeout=WITHIN_MS)
    expect(staff.locator("#dash-revenue")).to_have_attribute("data-outstanding", "100.00")
    assert staff.evaluate("window.neverReloaded") is True

    # A broadcast from the dashboard: the buyer's page shows it, the dashboard lists it.
    staff.fill("#dash-broadcast-text", "Doors open at six")
    staff.click("#dash-broadcast-form button")
    expect(staff.locator("#dash-broadcast-result")).to_have_attribute("data-result", "sent")
    expect(staff.locator("#dash-broadcasts")).to_contain_text("Doors open at six")
    expect(buyer.locator("#toasts")).to_contain_text("Doors open at six")
    assert staff.evaluate("window.neverReloaded") is True
    assert axe_violations(staff) == []
