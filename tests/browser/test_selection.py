"""The selection page in Chromium, at desktop and phone sizes: one submit holds every
line; a lodge sees and is refused in tables; axe finds nothing on the page."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.support.axe import axe_violations
from tests.support.factories import make_event, make_function, make_ticket_type
from tickets.models import Hold, Registration

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def grand_installation():
    function = make_function(slug="grand-installation", name="Grand Installation")
    day = function.starts_at

    def event(name: str, hours: int):
        starts = day + datetime.timedelta(hours=hours)
        return make_event(
            function, name=name, starts_at=starts, ends_at=starts + datetime.timedelta(hours=2)
        )

    # Made out of date order: the page puts them in date order.
    brunch = make_ticket_type(
        event("Ladies' Brunch", 26), name="Brunch", price=Decimal("65.00"), sold_by_table=False
    )
    ceremony = make_ticket_type(event("Installation Ceremony", 2), name="Ceremony", price=0)
    banquet = make_ticket_type(
        event("Grand Banquet", 6), name="Banquet seat", price=Decimal("1250.00"), capacity=25
    )
    return function, ceremony, banquet, brunch


def live_function_page(asgi_server, new_context, size: str, function, query: str = ""):
    """The function page at a viewport size, once its socket is live."""
    page = new_context(viewport=VIEWPORTS[size]).new_page()
    page.goto(f"{asgi_server.url}{function.get_absolute_url()}{query}")
    expect(page.locator("#live-indicator")).to_have_attribute("data-live", "true")
    return page


@pytest.mark.parametrize("size", VIEWPORTS)
def test_an_individual_buys_three_events_in_one_submit(asgi_server, new_context, size):
    function, ceremony, banquet, brunch = grand_installation()
    page = live_function_page(asgi_server, new_context, size, function, "")

    jump = page.get_by_role("navigation", name="Events").get_by_role("link")
    expect(jump).to_have_text(["Installation Ceremony", "Grand Banquet", "Ladies' Brunch"])
    assert not axe_violations(page)

    page.fill(f"#quantity-{ceremony.pk}", "2")
    page.fill(f"#quantity-{banquet.pk}", "2")
    page.fill(f"#quantity-{brunch.pk}", "1")
    expect(page.locator("#selection-running-total")).to_have_text("$2,565.00")
    page.locator("#hold-selection").click()  # the one Continue, in the sticky bar

    expect(page.get_by_role("heading", name="Your tickets")).to_be_visible()
    expect(page.locator("#selection-total")).to_have_text("$2,565.00")
    registration = Registration.objects.get()
    held = dict(registration.holds.values_list("ticket_type_id", "seats"))
    assert held == {ceremony.pk: 2, banquet.pk: 2, brunch.pk: 1}


@pytest.mark.parametrize("size", VIEWPORTS)
def test_a_lodge_sees_tables_and_is_refused_in_tables(asgi_server, new_context, size):
    function, _ceremony, banquet, brunch = grand_installation()
    page = live_function_page(asgi_server, new_context, size, function, "?as=lodge")

    expect(page.locator(f"#availability-{banquet.pk}")).to_have_text("2 tables left")
    expect(page.get_by_label("Tables").first).to_be_visible()
    assert not axe_violations(page)

    page.fill(f"#quantity-{banquet.pk}", "3")
    page.fill(f"#quantity-{brunch.pk}", "4")  # by the seat: not sold by the table
    page.locator("#hold-selection").click()

    refusal = page.locator("#refused-lines")
    expect(refusal).to_contain_text("Only 2 tables left for Banquet seat; you asked for 3.")
    expect(page.locator(f"#quantity-{banquet.pk}")).to_have_value("3")  # kept as typed
    expect(page.locator(f"#quantity-{brunch.pk}")).to_have_value("4")
    assert not Hold.objects.exists()
    assert not axe_violations(page)

    # Someone else takes seats until less than a table is left: the button goes off live.
    other = new_context().new_page()
    other.goto(f"{asgi_server.url}{function.get_absolute_url()}")
    other.fill(f"#quantity-{banquet.pk}", "10")
    other.locator("#hold-selection").click()
    expect(other.get_by_role("heading", name="Your tickets")).to_be_visible()
    page.goto(f"{asgi_server.url}{function.get_absolute_url()}?as=lodge")
    expect(page.locator(f"#availability-{banquet.pk}")).to_have_text("1 table left")
    expect(page.locator("#live-indicator")).to_have_attribute("data-live", "true")
    third = new_context().new_page()
    third.goto(f"{asgi_server.url}{function.get_absolute_url()}")
    third.fill(f"#quantity-{banquet.pk}", "6")
    third.locator("#hold-selection").click()
    expect(page.locator(f"#availability-{banquet.pk}")).to_have_text("Less than a table left")
    expect(page.locator(f"#buy-{banquet.pk}")).to_be_disabled()
