"""Two people on one function: each sees the other, and where the other is."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.support.factories import make_event, make_function, make_ticket_type

pytestmark = pytest.mark.browser

# A tick is a second; someone leaving stays counted for a 1 s grace (page to page).
SETTLE = 15_000


def test_people_see_each_other_and_staff_see_the_funnel(asgi_server, new_context):
    function = make_function(slug="quarterly-communication", name="Quarterly Communication")
    dinner = make_ticket_type(make_event(function, name="Festive Board"), name="Dinner")
    url = f"{asgi_server.url}{function.get_absolute_url()}"

    alice = new_context().new_page()
    bob = new_context().new_page()
    for page in (alice, bob):
        page.goto(url)
    for page in (alice, bob):
        presence = page.locator("#presence")
        expect(presence).to_contain_text("1 other person is registering for this function")
        expect(presence).to_contain_text("1 selecting tickets now")
        expect(presence).to_have_attribute("data-others", "1")

    # Alice moves on to attendee details; Bob sees the step count change.
    alice.click(f"#buy-{dinner.pk}")
    alice.click("#continue")
    expect(alice.get_by_role("heading", name="Who is attending?")).to_be_visible()
    bob_presence = bob.locator("#presence")
    expect(bob_presence).to_have_attribute("data-step-attendee_details", "1", timeout=SETTLE)
    expect(bob_presence).to_have_attribute("data-step-ticket_selection", "0")
    expect(bob_presence).to_contain_text("1 other person is registering")
    expect(bob_presence).not_to_contain_text("selecting tickets")
    # Alice's own page counts Bob, not herself.
    expect(alice.locator("#presence")).to_have_attribute("data-step-ticket_selection", "1")

    alice.close()
    expect(bob_presence).to_have_attribute("data-others", "0", timeout=SETTLE)
    expect(bob_presence).to_be_hidden()

    get_user_model().objects.create_superuser("clerk", password="a-long-test-password")
    staff = new_context().new_page()
    staff.goto(f"{asgi_server.url}/admin/login/?next=/admin/tickets/function/")
    staff.fill("#id_username", "clerk")
    staff.fill("#id_password", "a-long-test-password")
    staff.click("input[type=submit]")
    staff.get_by_role("link", name="Registration funnel").click()
    expect(staff.locator("#funnel-table")).to_be_visible()
    reached = staff.locator("#funnel-table tr[data-step='attendee_details'] [data-reached]")
    expect(reached).to_have_text("1")
    expect(staff.locator("#funnel-chart .funnel-bar").first).to_be_visible()
