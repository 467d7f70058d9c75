"""Queue first under load (design §13): a crowd hammers a sold-out ticket type while holds
are released and lapse, offers lapse and entries join and leave.

Every freed seat here is one seat freed by one transaction, and the queue always has
entries of one seat waiting, so every freed seat fits an entry: a public buyer who gets a
seat is a seat given to the public while a fitting entry waited. The control switches
"queue first" off and shows the same harness catching exactly that.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from tests.support.factories import hold, make_ticket_type, refreshed
from tickets.models import Hold, Registration, TicketType, WaitlistEntry
from tickets.services import holds, inventory, waitlist
from tickets.services.exceptions import SeatsStillAvailable, TicketingError

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
Status = WaitlistEntry.Status

CAPACITY = 20
RELEASED = 10  # holders who cancel during the rush; the other ten lapse
WAITING_SINGLES = 30
WAITING_PAIRS = 5  # never fit: seats come free one at a time
JOINERS = 10
LEAVERS = 5  # waiting entries that leave
OFFERS_LAPSING = 3
OFFERS_LEFT = 2
# Every thread holds a pooled connection: these nine and the main thread stay under the
# pool's 10 (DB_POOL_MAX_SIZE) with one to spare, for a connection an earlier test's thread
# has not handed back yet.
PUBLIC_BUYERS = 4


@dataclass
class Rush:
    ticket_type: TicketType
    public_grants: list[str] = field(default_factory=list)
    lapsed_offers: list[int] = field(default_factory=list)
    left_offers: list[int] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    joins_refused: int = 0


def join(ticket_type: TicketType, quantity: int, n: str) -> WaitlistEntry:
    return waitlist.join(
        waitlist.JoinRequest(
            function=ticket_type.event.function,
            ticket_type_id=ticket_type.pk,
            quantity=quantity,
            name=f"Waiter {n}",
            email=f"waiter-{n}@example.com",
        )
    )


def in_thread(rush: Rush, work: Callable[[], None]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except BaseException as error:  # reported by the test
            rush.errors.append(error)
        finally:
            connection.close()

    return threading.Thread(target=run)


def run_rush(offers_lapsing: int = OFFERS_LAPSING, offers_left: int = OFFERS_LEFT) -> Rush:
    ticket_type = make_ticket_type(capacity=CAPACITY, max_per_order=4)
    holders = [hold(ticket_type, 1, buyer=f"holder-{n}").registration for n in range(CAPACITY)]
    lapsing = [r.pk for r in holders[RELEASED:]]
    past = timezone.now() - datetime.timedelta(seconds=1)
    Registration.objects.filter(pk__in=lapsing).update(expires_at=past)
    Hold.objects.filter(registration_id__in=lapsing).update(expires_at=past)
    entries = []
    for n in range(WAITING_SINGLES):
        entries.append(join(ticket_type, 1, f"single-{n}"))
        if n % 6 == 0 and n // 6 < WAITING_PAIRS:
            entries.append(join(ticket_type, 2, f"pair-{n}"))
    rush = Rush(ticket_type)
    stop = threading.Event()
    go = threading.Barrier(PUBLIC_BUYERS + 4)

    def public_buyer(n: int) -> Callable[[], None]:
        def buy() -> None:
            go.wait()
            attempt = 0
            while not stop.is_set():
                attempt += 1
                buyer = f"public-{n}-{attempt}"
                try:
                    hold(ticket_type, 1, buyer=buyer)
                except TicketingError:
                    time.sleep(0.002)
                    continue
                rush.public_grants.append(buyer)

        return buy

    def releaser() -> None:
        go.wait()
        for registration in holders[:RELEASED]:
            holds.cancel_registration(registration.pk)
            time.sleep(0.05)

    def sweeper() -> None:
        go.wait()
        while not stop.is_set():
            holds.release_expired_holds()
            time.sleep(0.02)

    def queue_churn() -> None:
        """Entries join at the back while others leave from the back."""
        go.wait()
        leaving = entries[-LEAVERS:]  # the back of the queue: still waiting
        for n in range(JOINERS):
            try:
                join(ticket_type, 1, f"late-{n}")
            except SeatsStillAvailable:
                rush.joins_refused += 1  # seats the queue should have had were free
            if n < len(leaving):
                waitlist.leave(leaving[n].uuid)
            time.sleep(0.03)

    def offer_churn() -> None:
        """Let some offers lapse (aged for the sweeper) and some be given back."""
        go.wait()
        while len(rush.lapsed_offers) < offers_lapsing or len(rush.left_offers) < offers_left:
            if stop.is_set():
                return
            offered = WaitlistEntry.objects.filter(ticket_type=ticket_type, status=Status.OFFERED)
            for entry in offered.order_by("offered_at")[:1]:
                if len(rush.lapsed_offers) < offers_lapsing:
                    past = timezone.now() - datetime.timedelta(seconds=1)
                    Registration.objects.filter(pk=entry.offered_registration_id).update(
                        expires_at=past
                    )
                    Hold.objects.filter(registration_id=entry.offered_registration_id).update(
                        expires_at=past
                    )
                    # Wait for the sweeper to lapse it, so it is counted once.
                    while (
                        not stop.is_set()
                        and WaitlistEntry.objects.get(pk=entry.pk).status == Status.OFFERED
                    ):
                        time.sleep(0.01)
                    rush.lapsed_offers.append(entry.pk)
                else:
                    waitlist.leave(entry.uuid)
                    rush.left_offers.append(entry.pk)
            time.sleep(0.02)

    workers = [in_thread(rush, public_buyer(n)) for n in range(PUBLIC_BUYERS)]
    workers += [in_thread(rush, w) for w in (releaser, sweeper, queue_churn, offer_churn)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        expired_left = Registration.objects.filter(
            pk__in=lapsing, status=Registration.Status.PENDING
        ).exists()
        churned = len(rush.lapsed_offers) >= offers_lapsing and len(rush.left_offers) >= offers_left
        if (
            not expired_left
            and churned
            and not any(w.is_alive() for w in (workers[-4], workers[-2]))
        ):
            break
        time.sleep(0.05)
    time.sleep(0.5)  # the crowd keeps hammering a little after the last seat came free
    stop.set()
    for worker in workers:
        worker.join(timeout=30)
    assert not rush.errors, rush.errors
    return rush


def test_every_freed_seat_reaches_an_entry_never_the_public():
    rush = run_rush()
    ticket_type = refreshed(rush.ticket_type)

    assert rush.public_grants == [], "seats went to the public while fitting entries waited"
    assert rush.joins_refused == 0  # no seat ever sat free while the queue was owed it
    # Each seat freed (ten released, ten lapsed) and each offer passed on (lapsed, given
    # back) went to one more entry.
    offers_made = WaitlistEntry.objects.filter(
        ticket_type=ticket_type, offered_registration__isnull=False
    ).count()
    assert offers_made == CAPACITY + len(rush.lapsed_offers) + len(rush.left_offers)
    assert len(rush.lapsed_offers) == OFFERS_LAPSING
    assert len(rush.left_offers) == OFFERS_LEFT
    # No oversell, and no seat stranded: the queue's seats are held by its offers.
    assert ticket_type.reserved + ticket_type.sold == ticket_type.capacity == CAPACITY
    active = Hold.objects.filter(ticket_type=ticket_type, status=Hold.Status.ACTIVE)
    assert active.aggregate(s=Sum("seats"))["s"] == ticket_type.reserved
    offered = WaitlistEntry.objects.filter(ticket_type=ticket_type, status=Status.OFFERED)
    assert offered.count() == CAPACITY
    assert all(
        e.offered_registration.is_pending for e in offered.select_related("offered_registration")
    )
    # The waiting count is the queue, and ones still waiting are ones that never fitted or
    # whose turn has not come.
    waiting = WaitlistEntry.objects.filter(ticket_type=ticket_type, status=Status.WAITING)
    assert ticket_type.waiting == waiting.count() > 0
    call_command("reconcile_inventory")  # raises CommandError on drift


def test_control_the_harness_catches_seats_going_public_without_queue_first(monkeypatch):
    monkeypatch.setattr(inventory, "QUEUE_FIRST", False)
    # Nothing is offered, so no offer can lapse or be given back: churn nothing.
    rush = run_rush(offers_lapsing=0, offers_left=0)

    waiting = WaitlistEntry.objects.filter(
        ticket_type=rush.ticket_type, status=Status.WAITING, quantity=1
    )
    assert rush.public_grants, "the harness failed to catch seats going to the public"
    assert waiting.exists()  # while fitting entries waited
