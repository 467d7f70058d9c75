"""Names later, together (docs/design.md §11): a lodge secretary and a brother with the
share link fill one table, each seeing the other's seats fill without a reload."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from bench.data import session_store
from common.buyers import BUYER_SESSION_KEY
from tests.support import factories
from tickets.models import Registration, Ticket
from tickets.services import names

pytestmark = pytest.mark.browser


def shared_lodge_table() -> tuple[Registration, list[Ticket]]:
    function = factories.make_function(name="Grand Installation")
    dinner = factories.make_ticket_type(
        factories.make_event(function, name="Festive Board"), name="Dinner", capacity=100
    )
    registration = factories.confirm(
        dinner, 1, buyer="secretary", registration_type=Registration.Type.LODGE
    )
    registration = names.create_share_link(registration.pk)
    return registration, list(Ticket.objects.filter(hold__registration=registration).order_by("pk"))


def owner_context(new_context, server_url: str, registration: Registration):
    """A browser whose session owns the registration (as the buyer's own browser does)."""
    session = session_store()
    session[BUYER_SESSION_KEY] = registration.buyer_key
    session.create()
    context = new_context()
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": server_url}]
    )
    return context


def name_seat(page, ticket: Ticket, first_name: str, last_name: str) -> None:
    seat = page.locator(f"#seat-{ticket.pk}")
    seat.get_by_label("Attending as").select_option("guest")
    seat.get_by_label("First name").fill(first_name)
    seat.get_by_label("Last name").fill(last_name)
    seat.get_by_label("Vegetarian").check()
    seat.get_by_role("button", name="Name this seat").click()


def test_two_browsers_fill_one_table_live(asgi_server, new_context):
    registration, tickets = shared_lodge_table()
    owner = owner_context(new_context, asgi_server.url, registration).new_page()
    owner.goto(f"{asgi_server.url}/registrations/{registration.pk}/names/")
    brother = new_context().new_page()
    brother.goto(f"{asgi_server.url}/tables/{names.share_token(registration)}/")
    for page in (owner, brother):
        expect(page.locator("#live-indicator")).to_have_attribute("data-live", "true")
        expect(page.locator("#names-presence")).to_have_attribute("data-others", "1")
        expect(page.locator("#names-presence")).to_contain_text("1 person filling in this table")

    # The brother names the first seat; the secretary sees it filled, no reload.
    owner.evaluate("window.notReloaded = true")
    name_seat(brother, tickets[0], "Ada", "Lovelace")
    expect(brother.locator(f"#seat-{tickets[0].pk}")).to_have_attribute("data-named", "true")
    # The swap of the saved seat keeps focus on its button (htmx restores it by id).
    assert brother.evaluate("document.activeElement.id") == f"seat-{tickets[0].pk}-save"
    owner_seat = owner.locator(f"#seat-{tickets[0].pk}")
    expect(owner_seat).to_have_attribute("data-named", "true")
    expect(owner_seat).to_have_attribute("data-version", "1")
    expect(owner_seat).to_contain_text("Ada Lovelace")
    expect(owner_seat).to_contain_text("Vegetarian")
    assert owner.evaluate("window.notReloaded") is True

    # Both type into the second seat; the brother saves first. The secretary's typing is
    # kept through the push, and her save is refused with what he saved.
    second = tickets[1]
    owner.locator(f"#seat-{second.pk}").get_by_label("Attending as").select_option("guest")
    owner.locator(f"#seat-{second.pk}").get_by_label("First name").fill("Bea")
    name_seat(brother, second, "Cyd", "Charisse")
    expect(owner.locator(f"#seat-{second.pk}")).to_have_attribute("data-named", "true")
    owner_form_name = owner.locator(f"#seat-{second.pk}").get_by_label("First name")
    expect(owner_form_name).to_have_value("Bea")
    # The push did not take focus from where she was typing.
    assert owner.evaluate("document.activeElement.id") == f"seat-{second.pk}-first_name"
    owner.locator(f"#seat-{second.pk}").get_by_label("Last name").fill("Arthur")
    owner.locator(f"#seat-{second.pk}").get_by_role("button", name="Name this seat").click()
    refused = owner.locator(f"#seat-{second.pk}")
    expect(refused).to_contain_text("Someone else named this seat a moment ago")
    expect(refused).to_contain_text("Cyd Charisse")
    stored = Ticket.objects.select_related("attendee").get(pk=second.pk)
    assert stored.attendee.first_name == "Cyd"

    # The brother leaves: the secretary is alone again.
    brother.close()
    expect(owner.locator("#names-presence")).to_have_attribute("data-others", "0", timeout=15_000)


def test_after_the_due_date_the_page_is_read_only(asgi_server, new_context):
    registration, tickets = shared_lodge_table()
    registration.function.names_due_at = timezone.now() - datetime.timedelta(minutes=1)
    registration.function.save(update_fields=["names_due_at"])
    page = new_context().new_page()
    page.goto(f"{asgi_server.url}/tables/{names.share_token(registration)}/")
    expect(page.locator("#names-closed")).to_be_visible()
    expect(page.locator(f"#seat-{tickets[0].pk}")).to_have_attribute("data-named", "false")
    expect(page.locator(".seat__form")).to_have_count(0)


def test_without_script_a_seat_is_named_by_a_plain_form(asgi_server, new_context):
    registration, tickets = shared_lodge_table()
    page = new_context(java_script_enabled=False).new_page()
    page.goto(f"{asgi_server.url}/tables/{names.share_token(registration)}/")
    name_seat(page, tickets[0], "Ada", "Lovelace")
    expect(page.locator("#names-saved")).to_be_visible()
    expect(page.locator(f"#seat-{tickets[0].pk}")).to_have_attribute("data-named", "true")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_names_pages_have_no_axe_violations(asgi_server, new_context, size):
    from tests.support.axe import axe_violations, require_axe

    require_axe()
    viewport = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
    registration, tickets = shared_lodge_table()
    context = owner_context(new_context, asgi_server.url, registration)
    page = context.new_page()
    page.set_viewport_size(viewport[size])
    page.goto(f"{asgi_server.url}/registrations/{registration.pk}/names/")
    expect(page.locator("#live-indicator")).to_have_attribute("data-live", "true")
    seen = {"owner page": axe_violations(page)}
    page.locator(f"#seat-{tickets[0].pk}").get_by_label("First name").fill("")
    page.locator(f"#seat-{tickets[0].pk}").get_by_role("button", name="Name this seat").click()
    expect(page.locator(f"#seat-{tickets[0].pk} .seat__message")).to_be_visible()
    seen["seat with errors"] = axe_violations(page)
    assert {name: found for name, found in seen.items() if found} == {}
