"""A person registers from the function page to a confirmed registration, in Chromium;
staff then find it in the admin."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.support.browser import fill_attendee
from tests.support.factories import make_event, make_function, make_ticket_type
from tickets.models import Registration

pytestmark = pytest.mark.browser


def test_function_page_to_confirmed_registration_and_admin(asgi_server, page, new_context):
    function = make_function(slug="grand-proclamation", name="Grand Proclamation")
    banquet = make_ticket_type(
        make_event(function, name="Grand Banquet"), name="Banquet seat", capacity=12
    )
    brunch = make_ticket_type(make_event(function, name="Ladies' Brunch"), name="Brunch")

    page.goto(f"{asgi_server.url}/")
    page.get_by_role("link", name="Grand Proclamation").first.click()
    expect(page.locator(f"#availability-{banquet.pk}")).to_have_text("12 available")
    page.fill(f"#quantity-{banquet.pk}", "2")
    page.click(f"#buy-{banquet.pk}")

    expect(page.get_by_role("heading", name="Your tickets")).to_be_visible()
    expect(page.locator("#hold-countdown")).to_have_text(re.compile(r"^1?\d:\d\d$"))

    # Add a brunch ticket, then remove it again: htmx swaps the step without a reload.
    page.click(f"#buy-{brunch.pk}")
    expect(page.locator("#selection-summary")).to_contain_text("Brunch")
    page.evaluate("window.stillTheSamePage = true")
    page.locator(".held", has_text="Brunch").get_by_role("button", name="Remove").click()
    expect(page.locator("#selection-summary")).not_to_contain_text("Brunch")
    assert page.evaluate("window.stillTheSamePage") is True
    page.click("#continue")

    expect(page.get_by_role("heading", name="Who is attending?")).to_be_visible()
    first, second = page.locator("fieldset.attendee").all()
    fill_attendee(first, lodge="Lodge Antiquity")
    fill_attendee(second, attending_as="lady_partner", first_name="Mary", email=None, phone=None)
    second.get_by_label("Partner of").select_option(label="Attendee 1")
    page.click("#continue")

    expect(page.get_by_role("heading", name="Check your registration")).to_be_visible()
    expect(page.get_by_text("Mary Reid")).to_be_visible()
    page.click("#continue")

    expect(page.get_by_role("heading", name="Payment")).to_be_visible()
    page.get_by_label(re.compile("Invoice")).check()
    page.click("#confirm")

    expect(page.get_by_role("heading", name="You are registered")).to_be_visible()
    number = page.locator("#confirmation-number").inner_text()
    assert re.fullmatch(r"IND\d{6}[A-Z]{2}", number)
    registration = Registration.objects.get(confirmation_number=number)
    assert registration.status == Registration.Status.CONFIRMED
    banquet.refresh_from_db()
    assert (banquet.reserved, banquet.sold) == (0, 2)

    page.goto(f"{asgi_server.url}{function.get_absolute_url()}")
    expect(page.locator(f"#availability-{banquet.pk}")).to_have_text("10 available")

    get_user_model().objects.create_user("clerk", password="a-long-test-password", is_staff=True,
                                         is_superuser=True)  # fmt: skip
    staff = new_context().new_page()
    staff.goto(f"{asgi_server.url}/admin/")
    staff.fill("#id_username", "clerk")
    staff.fill("#id_password", "a-long-test-password")
    staff.click("input[type=submit]")
    staff.goto(f"{asgi_server.url}/admin/tickets/registration/?status__exact=confirmed")
    expect(staff.get_by_role("link", name=number)).to_be_visible()
    staff.get_by_role("link", name=number).click()
    expect(staff.get_by_text("Banquet seat").first).to_be_visible()
    staff.goto(f"{asgi_server.url}/admin/tickets/event/{banquet.event_id}/change/")
    expect(staff.locator("input[name='ticket_types-0-capacity']")).to_have_value("12")
