"""The edges of the live pages: focus survives live updates, pages that listen log no
errors, and the error pages (404, 403, 500, the hold 429) are on the site's look, pass
axe and lead back."""

from __future__ import annotations

import json
import re

import pytest
from django.template import loader
from playwright.sync_api import expect

from tests.support.axe import axe_violations, require_axe
from tests.support.browser import fill_attendee
from tests.support.factories import make_event, make_function, make_ticket_type
from tests.support.servers import AsgiServer

pytestmark = pytest.mark.browser


def live(page) -> None:
    expect(page.locator("#live-indicator")).to_have_attribute("data-live", "true")


def hold_through_the_server(page, function, ticket_type, quantity: int = 1) -> int:
    """Another person holds seats: the hold POST of the contract, through the server (the
    only process whose channel layer reaches the pages on the embedded default)."""
    token = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRFToken"]
    response = page.request.post(
        f"{page.url.split('/functions/')[0]}/functions/{function.slug}/hold/",
        form={"ticket_type": str(ticket_type.pk), "quantity": str(quantity)},
        headers={"X-CSRFToken": token},
        max_redirects=0,
    )
    return response.status


VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", VIEWPORTS)
def test_focus_stays_on_the_buy_button_through_five_live_updates(asgi_server, new_context, size):
    function = make_function(slug="grand-installation", name="Grand Installation")
    banquet = make_ticket_type(make_event(function, name="Banquet"), name="Seat", capacity=100)
    url = f"{asgi_server.url}{function.get_absolute_url()}"

    keyboard_user = new_context(viewport=VIEWPORTS[size]).new_page()
    keyboard_user.goto(url)
    live(keyboard_user)
    other = new_context().new_page()
    other.goto(url)
    live(other)

    button_id = f"buy-{banquet.pk}"
    keyboard_user.focus(f"#{button_id}")
    keyboard_user.evaluate(f"window.focusedButton = document.getElementById('{button_id}')")
    badge = keyboard_user.locator(f"#availability-{banquet.pk}")
    for n in range(1, 6):
        assert hold_through_the_server(other, function, banquet) == 303
        expect(badge).to_have_attribute("data-available", str(100 - n))
        assert keyboard_user.evaluate("document.activeElement.id") == button_id
    # The very element, updated in place: not a copy that took the focus back.
    assert keyboard_user.evaluate(
        f"document.getElementById('{button_id}') === window.focusedButton"
    )
    # And the keyboard goes on from there, not from the top of the page.
    keyboard_user.keyboard.press("Shift+Tab")
    assert keyboard_user.evaluate(
        """() => { const a = document.activeElement;
            return a !== document.body && a.id !== 'main'
                && !!(a.compareDocumentPosition(window.focusedButton)
                      & Node.DOCUMENT_POSITION_FOLLOWING); }"""
    )


def test_listening_pages_log_no_errors_through_live_updates(asgi_server, new_context):
    function = make_function(slug="grand-proclamation", name="Grand Proclamation")
    banquet = make_ticket_type(
        make_event(function, name="Grand Banquet"), name="Banquet seat", capacity=50
    )
    brunch = make_ticket_type(make_event(function, name="Ladies' Brunch"), name="Brunch")
    url = f"{asgi_server.url}{function.get_absolute_url()}"
    buyer = new_context().new_page()
    problems: list[str] = []
    buyer.on(
        "console",
        lambda message: (
            problems.append(f"{buyer.url}: {message.text}")
            if message.type == "error" or "oobErrorNoTarget" in message.text
            else None
        ),
    )
    buyer.on("pageerror", lambda error: problems.append(f"{buyer.url}: {error}"))
    other = new_context().new_page()
    other.goto(url)
    live(other)
    held = 0

    def live_updates() -> None:
        # The snapshot on connecting, then pushes of a ticket type (each in turn: the
        # buyer's rate limit is 10 holds a minute) and of presence.
        nonlocal held
        live(buyer)
        ticket_type = (banquet, brunch)[held % 2]
        badge = other.locator(f"#availability-{ticket_type.pk}")
        version = badge.get_attribute("data-version")
        assert hold_through_the_server(other, function, ticket_type) == 303
        held += 1
        expect(badge).not_to_have_attribute("data-version", version)
        buyer.wait_for_timeout(600)  # past the 250 ms coalescing: the push has landed

    buyer.goto(url)
    live_updates()
    buyer.click(f"#buy-{banquet.pk}")
    expect(buyer.get_by_role("heading", name="Your tickets")).to_be_visible()
    live_updates()
    buyer.click("#continue")
    expect(buyer.get_by_role("heading", name="Who is attending?")).to_be_visible()
    live_updates()
    fill_attendee(buyer.locator("fieldset.attendee").first, attending_as="guest")
    buyer.click("#continue")
    expect(buyer.get_by_role("heading", name="Check your registration")).to_be_visible()
    live_updates()
    buyer.click("#continue")
    expect(buyer.get_by_role("heading", name="Payment")).to_be_visible()
    live_updates()
    buyer.get_by_label(re.compile("Invoice")).check()
    buyer.click("#confirm")
    expect(buyer.get_by_role("heading", name="You are registered")).to_be_visible()
    live_updates()

    assert problems == []


def test_the_hold_429_page_says_when_to_retry_and_leads_back(transactional_db, new_context):
    require_axe()
    # An hour's window: the server is another process, whose clock the rate limits'
    # fixture cannot stop, and three page loads straddling a minute's edge would count
    # afresh from the edge (windows are fixed).
    server = AsgiServer(extra_env={"HOLD_RATE_LIMIT_PER_BUYER": "1/3600"})
    server.start()
    try:
        function = make_function(slug="grand-festival", name="Grand Festival")
        seat = make_ticket_type(make_event(function, name="Festival"), name="Seat", capacity=40)
        url = f"{server.url}{function.get_absolute_url()}"
        page = new_context().new_page()
        # The first hold makes the buyer (counted from then on): the third is one too many.
        statuses = []
        for _ in range(3):
            page.goto(url)
            with page.expect_navigation() as navigation:
                page.click(f"#buy-{seat.pk}")
            statuses.append(navigation.value.status if navigation.value else None)
        assert statuses[-1] == 429
        card = page.locator("#too-many")
        expect(card).to_have_attribute("data-status", "429")
        expect(page.locator("#retry-after")).to_contain_text(re.compile(r"try again in \d+"))
        assert axe_violations(page) == []
        page.click("#error-back")
        expect(page).to_have_url(url)
        live(page)
    finally:
        server.stop()
        server.log.unlink(missing_ok=True)


def test_error_pages_have_no_axe_violations(asgi_server, new_context):
    require_axe()
    function = make_function(slug="grand-communication", name="Grand Communication")
    make_ticket_type(make_event(function, name="Communication"), name="Seat")
    page = new_context().new_page()
    seen: dict[str, list] = {}

    response = page.goto(f"{asgi_server.url}/functions/no-such-function/")
    assert response.status == 404
    expect(page.locator("#not-found")).to_be_visible()
    seen["404"] = axe_violations(page)
    page.click("#error-back")
    expect(page).to_have_url(f"{asgi_server.url}/")

    # A form sent without its CSRF token: Django's 403 (403_csrf.html, built on 403.html).
    page.goto(f"{asgi_server.url}{function.get_absolute_url()}")
    with page.expect_navigation() as navigation:
        page.evaluate(
            """slug => { const form = document.createElement('form');
                form.method = 'post'; form.action = `/functions/${slug}/hold/`;
                document.body.append(form); form.submit(); }""",
            function.slug,
        )
    assert navigation.value.status == 403
    expect(page.locator("#forbidden")).to_be_visible()
    seen["403"] = axe_violations(page)

    # The 500 page renders without a request (common.unavailable); audited as served.
    page.set_content(loader.get_template("500.html").render({}))
    expect(page.locator("#try-again")).to_have_attribute("data-status", "500")
    seen["500"] = axe_violations(page)

    assert {name: found for name, found in seen.items() if found} == {}


def test_long_text_wraps_on_a_phone_and_the_toast_close_stays_in_view(asgi_server, new_context):
    from tests.support.factories import staff_user
    from tickets.services import broadcasts

    function = make_function(slug="grand-chapter", name="Grand Chapter", low_stock_threshold=5)
    # One unbroken word, as a pasted reference or URL is: it must wrap, not scroll sideways.
    word = "Reference" + "X" * 110
    seat = make_ticket_type(make_event(function, name="Chapter"), name=word, capacity=6)
    broadcasts.send_message(function, f"Your booking {word}", sent_by=staff_user("clerk"))
    url = f"{asgi_server.url}{function.get_absolute_url()}"
    phone = new_context(viewport={"width": 390, "height": 844}).new_page()
    phone.goto(url)
    live(phone)
    expect(phone.locator("#notices li")).to_contain_text(word)
    other = new_context().new_page()
    other.goto(url)
    live(other)
    assert hold_through_the_server(other, function, seat, quantity=2) == 303  # 4 left: low
    toast = phone.locator("#toasts [data-kind='low_availability']")
    expect(toast).to_contain_text(word)

    wide = phone.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map(e => e.tagName + '#' + e.id + '.' + e.className)"""
    )
    assert wide == []
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    close = toast.locator(".toast__close").bounding_box()
    assert close is not None
    assert close["x"] >= 0
    assert close["x"] + close["width"] <= 390
    assert close["y"] >= 0
    assert close["y"] + close["height"] <= 844
    toast.locator(".toast__close").click()
    expect(toast).to_have_count(0)


def test_an_open_page_keeps_the_newest_five_notices_and_three_toasts(asgi_server, new_context):
    from django.contrib.auth import get_user_model

    function = make_function(slug="grand-lodge-day", name="Grand Lodge Day")
    make_ticket_type(make_event(function, name="Day"), name="Seat")
    get_user_model().objects.create_superuser("clerk", password="a-long-test-password")
    viewer = new_context().new_page()
    viewer.goto(f"{asgi_server.url}{function.get_absolute_url()}")
    live(viewer)

    staff_context = new_context()
    staff = staff_context.new_page()
    staff.goto(f"{asgi_server.url}/admin/login/?next=/admin/")
    staff.fill("#id_username", "clerk")
    staff.fill("#id_password", "a-long-test-password")
    staff.click("input[type=submit]")
    expect(staff.locator("#site-name")).to_be_visible()
    token = next(c["value"] for c in staff_context.cookies() if c["name"] == "csrftoken")
    for n in range(1, 8):
        # Through the server, whose channel layer reaches the viewer (the send step).
        response = staff.request.post(
            f"{asgi_server.url}/admin/tickets/function/",
            form={
                "action": "send_message",
                "_selected_action": str(function.pk),
                "send": "yes",
                "text": f"Message number {n}",
            },
            headers={"X-CSRFToken": token, "Referer": f"{asgi_server.url}/admin/"},
        )
        assert response.ok
        expect(viewer.locator("#notices li").first).to_contain_text(f"Message number {n}")
    expect(viewer.locator("#notices li")).to_have_count(5)
    expect(viewer.locator("#notices li").last).to_contain_text("Message number 3")
    expect(viewer.locator("#toasts .toast")).to_have_count(3)
    expect(viewer.locator("#toasts .toast").last).to_contain_text("Message number 7")
