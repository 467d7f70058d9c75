"""Buyers of a package and buyers of its single items race for the same ticket types
(docs/design.md §15): every package is held whole or not at all, nothing is oversold and
the counters match the holds.

Same harness as test_selection_rush: one HTTP client per buyer against the live test
server, every POST released together by a barrier, the winners' row locks held a little
longer. Each buyer's holds are read back by the buyer key its session was given, so the
check does not depend on how the implementation records a package. The control swaps in
the obvious wrong implementation - each item held in its own committed transaction - and
injects a failure after the first item: the harness catches the partial packages it
leaves. The same failure injected into the real path leaves nothing behind.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module

import httpx
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.models import Sum

from common.buyers import BUYER_SESSION_KEY
from tests.support.factories import (
    make_event,
    make_function,
    make_package,
    make_ticket_type,
    refreshed,
)
from tickets.models import Hold, Package, TicketType
from tickets.services import holds as hold_service
from tickets.services import inventory
from tickets.services.exceptions import TicketingError

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.usefixtures("slow_winners"),
]

Seats = dict[int, int]  # ticket type id -> seats


class InjectedFailure(TicketingError):
    code = "injected_failure"
    http_status = 409
    default_message = "Injected after the first item."


@pytest.fixture(autouse=True)
def crowd_from_one_address(settings):
    """Every buyer here comes from 127.0.0.1, where a real crowd has many addresses."""
    settings.HOLD_RATE_LIMIT_PER_IP = None
    settings.HOLD_SEATS_PER_IP = None


_in_package = threading.local()


@pytest.fixture
def failure_after_the_first_item(monkeypatch):
    """The real path, with every package hold failing right after its first item's
    guarded UPDATE (single-item holds are untouched)."""
    guarded_reserve = inventory.reserve
    hold_items = hold_service.hold_package_items

    def reserve(ticket_type, seats):
        if getattr(_in_package, "reserved", None) is not None:
            if _in_package.reserved:
                raise InjectedFailure()
            _in_package.reserved = True
        return guarded_reserve(ticket_type, seats)

    def flagged(request):
        _in_package.reserved = False
        try:
            return hold_items(request)
        finally:
            _in_package.reserved = None

    monkeypatch.setattr(inventory, "reserve", reserve)
    monkeypatch.setattr(hold_service, "hold_package_items", flagged)


@pytest.fixture
def item_by_item(monkeypatch):
    """The control: each item its own committed transaction, with the failure injected
    after the first one (as the original's `return false` mid-loop did)."""

    def hold_each_item(request: hold_service.PackageRequest) -> list[Hold]:
        held = []
        for item in request.package.items.order_by("ticket_type_id"):
            if held:
                raise InjectedFailure()
            held.append(
                hold_service.hold_tickets(
                    hold_service.HoldRequest(
                        buyer_key=request.buyer_key,
                        function=request.function,
                        ticket_type_id=item.ticket_type_id,
                        quantity=item.quantity * request.quantity,
                    )
                )
            )
        return held

    monkeypatch.setattr(hold_service, "hold_package_items", hold_each_item)


def rush(base_url: str, package: Package, orders: list[dict]) -> list[tuple[int, dict, str]]:
    """POST every order at once, one buyer each. Returns (status, order, buyer key)."""
    function_url = f"{base_url}{package.function.get_absolute_url()}"
    ready = threading.Barrier(len(orders))
    sessions = import_module(settings.SESSION_ENGINE).SessionStore

    def buyer(order: dict) -> tuple[int, dict, str]:
        with httpx.Client(timeout=60, follow_redirects=False) as client:
            client.get(function_url).raise_for_status()  # session, buyer key, CSRF cookie
            token = client.cookies["csrftoken"]
            buyer_key = sessions(client.cookies[settings.SESSION_COOKIE_NAME])[BUYER_SESSION_KEY]
            ready.wait()
            response = client.post(
                f"{function_url}hold/", data=order, headers={"X-CSRFToken": token}
            )
            return response.status_code, order, buyer_key

    with ThreadPoolExecutor(max_workers=len(orders)) as pool:
        return list(pool.map(buyer, orders))


def active_seats_of(buyer_key: str) -> Seats:
    seats: Seats = {}
    for ticket_type_id, n in Hold.objects.filter(
        registration__buyer_key=buyer_key, status=Hold.Status.ACTIVE
    ).values_list("ticket_type_id", "seats"):
        seats[ticket_type_id] = seats.get(ticket_type_id, 0) + n
    return seats


def partial_packages(results, package: Package) -> list[Seats]:
    """What package buyers hold that is neither nothing nor whole packages."""
    items = dict(package.items.values_list("ticket_type_id", "quantity"))
    partial = []
    for status, order, buyer_key in results:
        if "package" not in order:
            continue
        held = active_seats_of(buyer_key)
        whole = {tt: seats * int(order["quantity"]) for tt, seats in items.items()}
        if held != (whole if status == 303 else {}):
            partial.append(held)
    return partial


def contested() -> tuple[Package, TicketType, TicketType]:
    function = make_function()
    ceremony = make_ticket_type(make_event(function), name="Ceremony", capacity=14)
    banquet = make_ticket_type(make_event(function), name="Banquet", capacity=9)
    return make_package([(ceremony, 1), (banquet, 1)]), ceremony, banquet


def orders_for(package: Package, ceremony: TicketType, banquet: TicketType) -> list[dict]:
    shapes = [
        {"package": package.pk, "quantity": 1},
        {"ticket_type": banquet.pk, "quantity": 1},
        {"package": package.pk, "quantity": 2},
        {"ticket_type": ceremony.pk, "quantity": 2},
    ]
    return list(itertools.islice(itertools.cycle(shapes), 28))  # ~40 seats wanted of 23


def assert_no_oversell(*ticket_types: TicketType) -> None:
    for ticket_type in ticket_types:
        fresh = refreshed(ticket_type)
        held = (
            Hold.objects.filter(ticket_type=ticket_type, status=Hold.Status.ACTIVE).aggregate(
                s=Sum("seats")
            )["s"]
            or 0
        )
        assert fresh.reserved == held <= fresh.capacity
    call_command("reconcile_inventory")  # raises CommandError on drift


def test_packages_and_single_items_race_and_every_package_is_whole_or_absent(live_server):
    package, ceremony, banquet = contested()

    results = rush(live_server.url, package, orders_for(package, ceremony, banquet))

    assert {status for status, _, _ in results} <= {303, 409}, results
    assert any(s == 303 and "package" in o for s, o, _ in results), "no package was served"
    assert any(s == 409 and "package" in o for s, o, _ in results), "packages were not scarce"
    assert partial_packages(results, package) == []
    for status, order, buyer_key in results:
        if "ticket_type" in order:
            expected = {int(order["ticket_type"]): order["quantity"]} if status == 303 else {}
            assert active_seats_of(buyer_key) == expected
    assert_no_oversell(ceremony, banquet)


def test_a_failure_after_the_first_item_leaves_no_partial_package(
    live_server, failure_after_the_first_item
):
    package, ceremony, banquet = contested()

    results = rush(live_server.url, package, orders_for(package, ceremony, banquet))

    assert all(s == 409 for s, o, _ in results if "package" in o), results
    assert partial_packages(results, package) == []
    assert_no_oversell(ceremony, banquet)


def test_control_item_by_item_lets_a_partial_package_slip_through(live_server, item_by_item):
    package, ceremony, banquet = contested()

    results = rush(live_server.url, package, orders_for(package, ceremony, banquet))

    partial = partial_packages(results, package)
    assert partial, "the harness failed to show a partial package hold"
    assert all(set(held) == {ceremony.pk} for held in partial)
    # The counters still agree with the holds: the partial hold is a real one.
    assert_no_oversell(ceremony, banquet)
