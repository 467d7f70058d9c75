"""tracker.js in Chromium against daphne: what a person does lands in user_interactions,
what they type does not, and nothing is lost to a dropped network or a closed tab.

The database is awaited by polling with a deadline: the tracker flushes on its own
schedule (every 5 s, at 50 events, on page hide), so there is no moment to wait for.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from analytics.models import Interaction
from tests.support.factories import make_event, make_function, make_ticket_type

pytestmark = pytest.mark.browser

SECRETS = {
    "password": "hunter2-secret",
    "card_number": "4111111111111111",
    # Not bare digits: "737" also turns up in ids and timestamps once a run has made enough
    # rows, and the leak check below would then see a secret that was never sent.
    "cvc": "cvc737",
    "email": "alan.secret@example.com",
    "phone": "0499 123 456",
}


def eventually(check: Callable[[], object], *, timeout: float = 20, what: str = "") -> object:
    """Poll `check` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what or check}")
        time.sleep(0.1)


def stored_actions() -> list[str]:
    return list(Interaction.objects.order_by("occurred_at", "pk").values_list("action", flat=True))


def everything_stored() -> str:
    """Every stored interaction as text: where a leaked secret would show up."""
    return "\n".join(
        f"{i.action} {i.data} {i.page_url}" for i in Interaction.objects.order_by("pk")
    )


@pytest.fixture
def banquet(asgi_server):
    function = make_function(slug="grand-proclamation", name="Grand Proclamation")
    return make_ticket_type(make_event(function, name="Grand Banquet"), name="Seat")


def open_function_page(page, server, ticket_type) -> None:
    page.goto(f"{server.url}{ticket_type.event.function.get_absolute_url()}")
    expect(page.locator(f"#buy-{ticket_type.pk}")).to_be_enabled()
    tracker_loaded(page)


def tracker_loaded(page) -> None:
    page.wait_for_function("() => window.LodgeTixTracker !== undefined")


def test_a_registration_journey_produces_the_expected_actions(asgi_server, page, banquet):
    errors = []
    page.on("pageerror", lambda error: errors.append(error))

    open_function_page(page, asgi_server, banquet)
    page.fill(f"#quantity-{banquet.pk}", "1")
    page.click(f"#buy-{banquet.pk}")
    expect(page.get_by_role("heading", name="Your tickets")).to_be_visible()
    page.click("#continue")

    expect(page.get_by_role("heading", name="Who is attending?")).to_be_visible()
    attendee = page.locator("fieldset.attendee").first
    attendee.get_by_label("First name").fill("Alan")
    attendee.get_by_label("Last name").fill("Reid")
    attendee.get_by_label("Email").fill(SECRETS["email"])
    attendee.get_by_label("Phone").fill(SECRETS["phone"])
    attendee.get_by_label("Lodge name").fill("Lodge Antiquity")
    page.click("#continue")

    expect(page.get_by_role("heading", name="Check your registration")).to_be_visible()
    page.click("#continue")
    expect(page.get_by_role("heading", name="Payment")).to_be_visible()
    page.get_by_label(re.compile("Invoice")).check()
    page.click("#confirm")
    expect(page.get_by_role("heading", name="You are registered")).to_be_visible()
    tracker_loaded(page)
    page.evaluate("LodgeTixTracker.flush()")

    expected = {
        "page.view",
        "ticket.select",
        "wizard.step",
        "field.change",
        "form.submit",
        "payment.initiate",
        "registration.created",
        "registration.hold_created",
        "registration.step_reached",
        "registration.confirmed",
    }
    eventually(
        lambda: (
            expected <= set(stored_actions())
            and Interaction.objects.filter(action="wizard.step", data__step="confirmation").exists()
        ),
        what=f"actions {expected}",
    )
    select = Interaction.objects.get(action="ticket.select")
    assert select.data == {
        "ticket_type": banquet.pk,
        "quantity": 1,
        "registration_type": "individual",
    }
    assert (select.event_id, select.function_id) == (banquet.event_id, banquet.event.function_id)
    steps = Interaction.objects.filter(action="wizard.step").order_by("occurred_at")
    assert [s.data["step"] for s in steps] == [
        "tickets", "attendees", "review", "payment", "confirmation"
    ]  # fmt: skip
    registration_id = Interaction.objects.get(action="registration.confirmed").registration_id
    assert {s.registration_id for s in steps} == {registration_id}  # the buyer's own pages
    assert Interaction.objects.get(action="payment.initiate").data == {"method": "invoice"}
    fields = set(
        Interaction.objects.filter(action="field.change").values_list("data__field", flat=True)
    )
    assert {"attendees-0-first_name", "attendees-0-email", "attendees-0-phone"} <= fields
    stored = everything_stored()
    for typed in ("Alan", "Reid", SECRETS["email"], SECRETS["phone"], "Antiquity"):
        assert typed not in stored
    client_rows = Interaction.objects.filter(source="client")
    # One browser throughout: its CSRF cookie links the page views from before the hold
    # (no session yet) to the wizard pages after it.
    visitors = set(client_rows.values_list("visitor_id", flat=True))
    assert len(visitors) == 1
    assert "" not in visitors
    assert all(s.session_id for s in steps)
    assert all(
        agent.startswith("Mozilla/") for agent in client_rows.values_list("user_agent", flat=True)
    )
    assert errors == []


def test_a_password_or_card_fields_value_never_appears(asgi_server, page, banquet):
    open_function_page(page, asgi_server, banquet)
    # Fields of the kinds a payment or login form has, injected into a real page.
    page.evaluate(
        """() => {
        const form = document.createElement("form");
        form.id = "secrets";
        form.innerHTML = `
          <input type="password" name="password">
          <input name="card_number" autocomplete="cc-number" inputmode="numeric">
          <input name="cvc" autocomplete="cc-csc">
          <input type="email" name="email">
          <input type="tel" name="phone">
          <input type="password" name="pin" data-track-value>
          <input name="nickname" data-track-value>
          <input type="checkbox" name="newsletter" data-track-value>`;
        document.querySelector("main").append(form);
    }"""
    )
    for name, value in {**SECRETS, "pin": "9876-secret", "nickname": "Bro. Al"}.items():
        field = page.locator(f"#secrets [name={name}]")
        field.fill(value)
        field.blur()
    page.check("#secrets [name=newsletter]")
    page.evaluate("LodgeTixTracker.flush()")

    changes = eventually(
        lambda: (
            dict(
                Interaction.objects.filter(action="field.change").values_list("data__field", "data")
            )
            if Interaction.objects.filter(action="field.change").count() >= 8
            else None
        ),
        what="eight field changes",
    )
    for name in (*SECRETS, "pin"):
        assert "value" not in changes[name], name
    assert changes["password"]["type"] == "password"
    assert changes["nickname"]["value"] == "Bro. Al"  # opted in
    assert changes["newsletter"]["value"] is True
    stored = everything_stored()
    for secret in (*SECRETS.values(), "9876-secret"):
        assert secret not in stored


def test_going_offline_then_online_loses_nothing(asgi_server, page, new_context, banquet):
    open_function_page(page, asgi_server, banquet)
    page.evaluate("LodgeTixTracker.flush()")
    eventually(lambda: Interaction.objects.filter(action="page.view").exists(), what="page view")
    page.context.set_offline(True)

    page.evaluate("for (let i = 0; i < 70; i++) LodgeTixTracker.track('test.offline', {n: i})")
    # 50 of them tried at once and failed: back in the queue, in order, nothing dropped.
    page.wait_for_function(
        "LodgeTixTracker.stats().queued === 70 && !LodgeTixTracker.stats().inFlight"
    )
    assert page.evaluate("LodgeTixTracker.stats().dropped") == 0
    assert not Interaction.objects.filter(action="test.offline").exists()

    page.context.set_offline(False)
    page.evaluate("LodgeTixTracker.flush()")  # or wait for the backoff: the "online" event

    eventually(
        lambda: Interaction.objects.filter(action="test.offline").count() == 70,
        timeout=45,
        what="all 70 events after coming back online",
    )
    numbers = Interaction.objects.filter(action="test.offline").values_list("data__n", flat=True)
    assert sorted(numbers) == list(range(70))
    assert page.evaluate("LodgeTixTracker.stats().dropped") == 0


def test_closing_the_tab_flushes_by_beacon(asgi_server, page, banquet):
    open_function_page(page, asgi_server, banquet)
    page.evaluate("LodgeTixTracker.flush()")
    eventually(lambda: Interaction.objects.filter(action="page.view").exists(), what="page view")
    # From here fetch never answers: only a beacon can deliver what is tracked next.
    page.evaluate("() => { window.fetch = () => new Promise(() => {}); }")
    page.evaluate("for (let i = 0; i < 3; i++) LodgeTixTracker.track('test.beacon', {n: i})")
    page.evaluate("LodgeTixTracker.flush()")  # the batch is now stuck in flight
    assert page.evaluate("LodgeTixTracker.stats().inFlight") == 3

    page.close(run_before_unload=True)

    eventually(
        lambda: Interaction.objects.filter(action="test.beacon").count() == 3,
        what="three events sent by beacon",
    )


def test_a_beacon_the_browser_refuses_is_split(asgi_server, page, banquet):
    open_function_page(page, asgi_server, banquet)
    # A browser that takes beacons of at most 2 KB, like one whose quota is nearly spent.
    page.evaluate(
        """() => {
        const send = navigator.sendBeacon.bind(navigator);
        window.beaconSizes = [];
        navigator.sendBeacon = (url, blob) => {
          if (blob.size > 2048) return false;
          window.beaconSizes.push(blob.size);
          return send(url, blob);
        };
        window.fetch = () => new Promise(() => {});
        for (let i = 0; i < 12; i++) LodgeTixTracker.track('test.split', {pad: 'x'.repeat(300)});
    }"""
    )
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide'))")

    eventually(
        lambda: Interaction.objects.filter(action="test.split").count() == 12,
        what="twelve events in split beacons",
    )
    sizes = page.evaluate("window.beaconSizes")
    assert len(sizes) > 1
    assert max(sizes) <= 2048


def test_pages_work_when_the_endpoint_is_down(asgi_server, page, banquet):
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    page.route(re.compile(r".*/analytics/events/$"), lambda route: route.fulfill(status=503))

    open_function_page(page, asgi_server, banquet)
    page.click(f"#buy-{banquet.pk}")

    expect(page.get_by_role("heading", name="Your tickets")).to_be_visible()
    tracker_loaded(page)
    page.evaluate("LodgeTixTracker.flush()")
    page.wait_for_function(
        "LodgeTixTracker.stats().queued > 0 && !LodgeTixTracker.stats().inFlight"
    )
    assert errors == []


def test_a_full_queue_drops_the_oldest_and_reports_how_many(asgi_server, page, banquet):
    open_function_page(page, asgi_server, banquet)
    page.context.set_offline(True)

    page.evaluate("for (let i = 0; i < 1100; i++) LodgeTixTracker.track('test.cap', {n: i})")
    page.wait_for_function("!LodgeTixTracker.stats().inFlight")
    stats = page.evaluate("LodgeTixTracker.stats()")
    assert stats["dropped"] >= 100
    assert stats["queued"] == 1000

    page.context.set_offline(False)
    page.evaluate("LodgeTixTracker.flush()")
    report = eventually(
        lambda: Interaction.objects.filter(action="tracker.dropped").first(),
        timeout=45,
        what="the tracker.dropped report",
    )
    assert report.data["count"] == stats["dropped"]
    eventually(
        lambda: Interaction.objects.filter(action="test.cap").count() == 1000,
        timeout=45,
        what="the 1,000 newest events",
    )
    kept = sorted(Interaction.objects.filter(action="test.cap").values_list("data__n", flat=True))
    assert kept == list(range(1100 - 1000, 1100))  # the oldest went


def test_a_refused_batch_is_dropped_and_a_throttled_one_kept(asgi_server, page, banquet):
    open_function_page(page, asgi_server, banquet)
    endpoint = re.compile(r".*/analytics/events/$")

    page.route(endpoint, lambda route: route.fulfill(status=400, body="{}"))
    page.evaluate("for (let i = 0; i < 3; i++) LodgeTixTracker.track('test.refused', {})")
    page.evaluate("LodgeTixTracker.flush()")
    page.wait_for_function(
        "LodgeTixTracker.stats().queued === 0 && !LodgeTixTracker.stats().inFlight"
    )
    assert page.evaluate("LodgeTixTracker.stats().rejected") >= 3
    page.unroute(endpoint)

    page.route(
        endpoint, lambda route: route.fulfill(status=429, headers={"Retry-After": "1"}, body="{}")
    )
    page.evaluate("for (let i = 0; i < 2; i++) LodgeTixTracker.track('test.throttled', {})")
    page.evaluate("LodgeTixTracker.flush()")
    page.wait_for_function(
        "LodgeTixTracker.stats().queued >= 2 && !LodgeTixTracker.stats().inFlight"
    )
    page.unroute(endpoint)

    eventually(
        lambda: Interaction.objects.filter(action="test.throttled").count() == 2,
        what="the throttled events, retried",
    )
    assert not Interaction.objects.filter(action="test.refused").exists()
