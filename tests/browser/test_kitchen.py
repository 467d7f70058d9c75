"""The kitchen page follows a naming change and a check-in live, and shows no name
unless a member of staff allowed to see them asks (docs/design.md §12).

The naming change is made by this test process, as the names pages will make it, so it
reaches the server's page through Redis: the test needs the services run."""

from __future__ import annotations

import pytest
from django.db import transaction
from playwright.sync_api import expect

from tests.browser.test_door import PHONE, sign_in
from tests.support.axe import axe_violations
from tests.support.door import confirmed_individuals, set_needs, tickets_of
from tests.support.factories import make_event, make_ticket_type, staff_user
from tickets.services import checkin
from tickets.signals import attendee_details_changed_on_commit

pytestmark = [pytest.mark.browser, pytest.mark.redis]


def test_kitchen_counts_follow_names_and_check_ins(asgi_server, new_context):
    banquet = make_ticket_type(make_event(name="Grand Banquet"), name="Banquet seat")
    registration = confirmed_individuals(banquet, "Alan", "Zebedee", last_name="Quartermaine")
    staff_user("chef", "view_kitchen", "see_dietary_names")
    page = new_context(**PHONE).new_page()
    sign_in(page, asgi_server.url, "chef")
    page.goto(f"{asgi_server.url}/staff/kitchen/{banquet.event_id}/")
    expect(page.locator("#live-indicator")).to_have_attribute("data-live", "true")
    page.evaluate("window.neverReloaded = true")
    vegetarian = page.locator("#dietary-vegetarian")
    expect(vegetarian).to_have_attribute("data-expected", "0")

    with transaction.atomic():  # what the names pages do when Zebedee's needs change
        set_needs(registration, 2, ["vegetarian"], special="Wheelchair access")
        attendee_details_changed_on_commit([banquet.event_id])
    expect(vegetarian).to_have_attribute("data-expected", "1")
    expect(page.locator("#special-needs")).to_contain_text("Wheelchair access × 1")

    checkin.check_in(banquet.event, code=tickets_of(registration)[1].code, door="North")
    expect(vegetarian).to_have_attribute("data-arrived", "1")
    expect(page.locator("#kitchen-summary")).to_have_attribute("data-arrived", "1")
    assert "Zebedee" not in page.content()
    assert "Quartermaine" not in page.content()

    vegetarian.get_by_role("button", name="Who?").click()
    expect(page.locator("#kitchen-names")).to_contain_text("Zebedee Quartermaine (arrived)")
    assert page.evaluate("window.neverReloaded") is True
    assert axe_violations(page) == []
