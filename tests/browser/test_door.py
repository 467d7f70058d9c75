"""The door page on a phone (docs/design.md §12): a USB scanner's typed code, search, a
second door's count moving without a reload, and scans made offline sent once back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.axe import axe_violations
from tests.support.door import confirmed_individuals, tickets_of
from tests.support.factories import confirm, make_event, make_ticket_type, staff_user
from tickets.models import CheckIn

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_be_visible()


def open_door(new_context, base_url: str, event_id: int, door: str, username: str):
    context = new_context(**PHONE)
    page = context.new_page()
    staff_user(username, "check_in")
    sign_in(page, base_url, username)
    page.goto(f"{base_url}/staff/checkin/{event_id}/?door={door}")
    expect(page.locator("#live-indicator")).to_have_attribute("data-live", "true")
    return context, page


@pytest.fixture
def banquet(transactional_db):
    return make_ticket_type(make_event(name="Grand Banquet"), name="Banquet seat", capacity=50)


def test_typed_code_and_search_and_the_other_door_moves(asgi_server, new_context, banquet):
    alan = confirmed_individuals(banquet, "Alan", lodge_name="Lodge Antiquity")
    lodge = confirm(banquet, 3, buyer="lodge")  # a delegation's three seats
    count = f"#checkin-count-{banquet.event_id}"
    _, north = open_door(new_context, asgi_server.url, banquet.event_id, "North", "north")
    _, south = open_door(new_context, asgi_server.url, banquet.event_id, "South", "south")
    south.evaluate("window.neverReloaded = true")
    expect(south.locator(count)).to_have_attribute("data-expected", "4")

    # A USB scanner types the code, then Enter, into the focused field.
    expect(north.locator("#scan-code")).to_be_focused()
    north.keyboard.type(tickets_of(alan)[0].code + "\n")
    result = north.locator("#scan-result")
    expect(result).to_have_attribute("data-result", "ok")
    expect(result).to_contain_text("Checked in")
    expect(result).to_contain_text("Alan Reid")
    expect(south.locator(count)).to_have_attribute("data-checked-in", "1")

    north.keyboard.type(tickets_of(alan)[0].code + "\n")
    expect(result).to_have_attribute("data-result", "already")
    expect(result).to_contain_text("North")

    south.fill("#search-input", lodge.confirmation_number)
    south.locator("#search-form").evaluate("form => form.requestSubmit()")
    found = south.locator(f"[data-check-in-registration='{lodge.pk}']")
    expect(found).to_have_text("Check in 3")
    found.click()
    expect(south.locator("#scan-result")).to_have_attribute("data-result", "ok")
    expect(north.locator(count)).to_have_attribute("data-checked-in", "4")
    expect(north.locator(count)).to_contain_text("South: 3")
    assert south.evaluate("window.neverReloaded") is True
    assert CheckIn.objects.filter(event=banquet.event).count() == 4
    assert axe_violations(north) == []  # with a result shown and the counts pushed


def test_offline_scans_are_kept_and_sent_once_each(asgi_server, new_context, banquet):
    people = tickets_of(confirmed_individuals(banquet, "Alan", "Bob", "Carl"))
    context, door = open_door(new_context, asgi_server.url, banquet.event_id, "North", "north")
    queue = door.locator("#offline-queue")

    context.set_offline(True)
    for ticket in (people[0], people[1], people[0]):  # Alan scanned twice while away
        door.keyboard.type(ticket.code + "\n")
    expect(queue).to_have_attribute("data-pending", "3")
    expect(door.locator("#scan-result")).to_have_attribute("data-result", "queued")
    assert not CheckIn.objects.exists()

    context.set_offline(False)
    expect(queue).to_have_attribute("data-pending", "0")
    log = door.locator("#queue-log li")
    expect(log).to_have_count(3)
    assert sorted(log.evaluate_all("items => items.map(i => i.dataset.result)")) == [
        "already",
        "ok",
        "ok",
    ]
    assert CheckIn.objects.filter(event=banquet.event).count() == 2
    expect(door.locator(f"#checkin-count-{banquet.event_id}")).to_have_attribute(
        "data-checked-in", "2"
    )


def test_pay_at_the_door_shows_what_is_owed_and_marks_it_paid(asgi_server, new_context, banquet):
    registration = confirmed_individuals(banquet, "Alan", "Bob", payment_method="door")
    staff_user("cashier", "check_in", "mark_paid")
    page = new_context(**PHONE).new_page()
    sign_in(page, asgi_server.url, "cashier")
    page.goto(f"{asgi_server.url}/staff/checkin/{banquet.event_id}/?door=North")

    page.keyboard.type(tickets_of(registration)[0].code + "\n")

    expect(page.locator("#scan-result")).to_have_attribute("data-result", "ok")
    expect(page.locator("#scan-result-pay")).to_have_text("To pay: $200.00")
    page.click("#mark-paid")
    expect(page.locator("#scan-result-pay")).to_have_attribute("data-paid", "true")
    expect(page.locator("#mark-paid")).to_be_hidden()
    registration.refresh_from_db()
    assert registration.payment_status == "paid"

    page.keyboard.type(tickets_of(registration)[1].code + "\n")
    expect(page.locator("#scan-result")).to_contain_text("Bob Reid")
    expect(page.locator("#scan-result-pay")).to_be_hidden()
    expect(page.locator("#mark-paid")).to_be_hidden()
