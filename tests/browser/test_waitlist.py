"""Two people, one seat (design §13): the sold-out badge says who waits, the holder
cancels, the waiting page shows the offer without a reload, and the waiting person
registers through the wizard. Runs on whatever shape the test run has: SQLite and the
in-memory layer on the embedded default, PostgreSQL and Redis in the services run."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.axe import axe_violations, require_axe
from tests.support.browser import fill_attendee
from tests.support.factories import make_event, make_function, make_ticket_type
from tickets.models import Registration, WaitlistEntry

pytestmark = pytest.mark.browser


def test_a_freed_seat_reaches_the_waiting_page_and_the_wizard(asgi_server, new_context):
    require_axe()
    seen: dict[str, list] = {}
    function = make_function(slug="installation", name="Installation", waitlist_offer_minutes=20)
    banquet = make_ticket_type(
        make_event(function, name="Festive Board"), name="Banquet seat", capacity=1
    )
    function_url = f"{asgi_server.url}{function.get_absolute_url()}"
    badge = f"#availability-{banquet.pk}"

    holder = new_context().new_page()
    holder.goto(function_url)
    holder.click(f"#buy-{banquet.pk}")
    expect(holder.get_by_role("heading", name="Your tickets")).to_be_visible()

    waiter = new_context().new_page()
    waiter.goto(function_url)
    expect(waiter.locator(badge)).to_have_attribute("data-state", "sold_out")
    waiter.get_by_role("link", name="Join the waiting list").click()
    seen["join page"] = axe_violations(waiter)
    waiter.get_by_label("Seats wanted").fill("1")
    waiter.get_by_label("Your name").fill("Wor. Bro. Alan Reid")
    waiter.get_by_label("Email").fill("alan@example.com")
    waiter.click("#waitlist-join")
    entry = waiter.locator("#waitlist-entry")
    expect(entry).to_have_attribute("data-status", "waiting")
    expect(entry).to_have_attribute("data-position", "1")
    expect(waiter.locator("#live-indicator")).to_have_attribute("data-live", "true")
    seen["entry page, waiting"] = axe_violations(waiter)

    # The holder's page, open all along, is told one person waits.
    expect(holder.locator(badge)).to_have_attribute("data-waiting", "1")
    expect(holder.locator(badge)).to_contain_text("SOLD OUT · 1 waiting")

    waiter.evaluate("window.stillTheSamePage = true")
    holder.click("#cancel-registration")

    expect(entry).to_have_attribute("data-status", "offered")
    toast = waiter.locator('.toast[data-kind="waitlist_offer"]')
    expect(toast).to_be_visible()
    assert waiter.evaluate("window.stillTheSamePage") is True
    seen["entry page, offered"] = axe_violations(waiter)
    toast.get_by_role("link", name="Take them up").click()

    expect(waiter.get_by_role("heading", name="Your tickets")).to_be_visible()
    waiter.click("#continue")
    expect(waiter.get_by_role("heading", name="Who is attending?")).to_be_visible()
    fill_attendee(waiter.locator("fieldset.attendee").first, lodge="Lodge Antiquity")
    waiter.click("#continue")
    expect(waiter.get_by_role("heading", name="Check your registration")).to_be_visible()
    waiter.click("#continue")
    waiter.get_by_label(re.compile("Invoice")).check()
    waiter.click("#confirm")
    expect(waiter.get_by_role("heading", name="You are registered")).to_be_visible()

    waiting = WaitlistEntry.objects.get()
    assert waiting.status == WaitlistEntry.Status.ACCEPTED
    assert waiting.offered_registration.status == Registration.Status.CONFIRMED
    banquet.refresh_from_db()
    assert (banquet.reserved, banquet.sold, banquet.waiting) == (0, 1, 0)
    assert {name: found for name, found in seen.items() if found} == {}
