"""Staff cancel an event in the admin; an attendee's open page learns of it at once."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.support.factories import make_event, make_function, make_ticket_type

pytestmark = pytest.mark.browser


def test_cancellation_in_the_admin_reaches_an_open_page(asgi_server, new_context):
    function = make_function(slug="grand-proclamation", name="Grand Proclamation")
    banquet = make_event(function, name="Grand Banquet")
    seat = make_ticket_type(banquet, name="Banquet seat", capacity=480)
    brunch = make_ticket_type(make_event(function, name="Ladies' Brunch"), name="Brunch")
    get_user_model().objects.create_superuser("clerk", password="a-long-test-password")

    attendee = new_context().new_page()
    attendee.goto(f"{asgi_server.url}{function.get_absolute_url()}")
    expect(attendee.locator("#live-indicator")).to_have_attribute("data-live", "true")
    attendee.evaluate("window.neverReloaded = true")
    expect(attendee.locator(f"#buy-{seat.pk}")).to_be_enabled()

    staff = new_context().new_page()
    staff.goto(f"{asgi_server.url}/admin/login/?next=/admin/tickets/event/")
    staff.fill("#id_username", "clerk")
    staff.fill("#id_password", "a-long-test-password")
    staff.click("input[type=submit]")
    staff.locator(f"input[name=_selected_action][value='{banquet.pk}']").check()
    staff.select_option("select[name=action]", "cancel_events")
    staff.click("button[name=index]")
    expect(staff.locator("#events-to-cancel")).to_contain_text("Grand Banquet")
    staff.fill("textarea[name=reason]", "The hall <b>flooded</b>.")
    staff.click("#confirm-cancellation")
    expect(staff.locator(".messagelist")).to_contain_text("Grand Banquet cancelled")

    status = attendee.locator(f"#event-status-{banquet.pk}")
    expect(status).to_have_attribute("data-status", "cancelled")
    expect(status).to_contain_text("Grand Banquet has been cancelled")
    expect(status).to_contain_text("The hall <b>flooded</b>.")  # shown as text
    toast = attendee.locator("#toasts [data-kind='cancellation']")
    expect(toast).to_contain_text("Grand Banquet has been cancelled")
    expect(attendee.locator(f"#buy-{seat.pk}")).to_be_disabled()
    expect(attendee.locator(f"#availability-{seat.pk}")).to_have_attribute(
        "data-state", "unavailable"
    )
    expect(attendee.locator(f"#buy-{brunch.pk}")).to_be_enabled()  # other events go on
    assert attendee.evaluate("window.neverReloaded") is True
