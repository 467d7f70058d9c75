"""The way back in, in Chromium: a fresh browser opens a registration's manage link and
sees it; a tampered link is the site's 404; after staff reissue the link the old one is a
404 and the browser that opened it no longer sees the registration. The find form works
from the keyboard at phone size, with no axe violations."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.support.axe import axe_violations
from tests.support.factories import confirm, make_event, make_function, make_ticket_type, staff_user
from tickets.services import access

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_a_fresh_browser_opens_the_link_and_a_reissue_shuts_it_out(asgi_server, new_context):
    function = make_function(name="Grand Proclamation")
    banquet = make_ticket_type(make_event(function, name="Grand Banquet"), name="Banquet seat")
    registration = confirm(banquet, 2, email="sec@example.com")
    old_link = f"{asgi_server.url}{access.manage_path(registration)}"

    buyer = new_context().new_page()
    buyer.goto(old_link)
    expect(buyer.get_by_role("heading", name="You are registered")).to_be_visible()
    expect(buyer.locator("#confirmation-number")).to_have_text(registration.confirmation_number)
    confirmation_page = buyer.url

    stranger = new_context().new_page()
    response = stranger.goto(old_link[:-2] + ("0" if old_link[-2] != "0" else "1") + "/")
    assert response.status == 404
    expect(stranger.locator("#not-found")).to_be_visible()
    assert stranger.goto(confirmation_page).status == 404

    staff_user("clerk", "view_registration", "change_registration")
    staff = new_context().new_page()
    staff.goto(f"{asgi_server.url}/admin/login/?next=/admin/tickets/registration/")
    staff.fill("#id_username", "clerk")
    staff.fill("#id_password", "a-long-test-password")
    staff.click("input[type=submit]")
    staff.locator(f"input[name=_selected_action][value='{registration.pk}']").check()
    staff.select_option("select[name=action]", "reissue_manage_links")
    staff.click("button[name=index]")
    expect(staff.locator(".messagelist")).to_contain_text("their old links no longer work")

    assert buyer.goto(old_link).status == 404
    expect(buyer.locator("#not-found")).to_be_visible()
    assert buyer.goto(confirmation_page).status == 404

    registration.refresh_from_db()
    buyer.goto(f"{asgi_server.url}{access.manage_path(registration)}")
    expect(buyer.locator("#confirmation-number")).to_have_text(registration.confirmation_number)


def test_the_find_form_from_the_keyboard_on_a_phone(asgi_server, new_context):
    page = new_context(viewport=PHONE).new_page()
    page.goto(f"{asgi_server.url}/registrations/find/")
    assert axe_violations(page) == []

    # Skip link, then the brand, then the field: typed and sent with Enter alone.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Your email address")).to_be_focused()
    # Unique: with Redis the per-email count outlives the run by up to an hour.
    page.keyboard.type(f"nobody-{uuid.uuid4().hex[:8]}@example.com")
    page.keyboard.press("Enter")

    expect(page.locator("#find-sent")).to_have_text(
        "If we hold registrations for that address, we have sent their links to it."
    )
    assert axe_violations(page) == []
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing scrolls sideways on a phone
