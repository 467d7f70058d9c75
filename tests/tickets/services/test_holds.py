"""The lean hold path: its statement order, its rate limits and its bounded lock waits."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.client import client_address
from lodgetix.settings import env_rate
from tests.support.factories import hold, make_ticket_type, refreshed
from tests.support.html import refusal_code
from tests.support.http import unique_address
from tickets.models import Hold, Registration
from tickets.services import holds
from tickets.services.exceptions import SeatsBusy
from tickets.signals import availability_changed


def hold_url(ticket_type) -> str:
    return f"{ticket_type.event.function.get_absolute_url()}hold/"


@pytest.mark.django_db
class TestLeanHold:
    def test_the_guarded_update_is_the_last_statement_before_commit(self):
        # The ticket type's row lock, which every buyer queues for, is taken by the guarded
        # UPDATE and held to COMMIT: nothing may run between them.
        ticket_type = make_ticket_type(capacity=10)
        with CaptureQueriesContext(connection) as queries:
            hold(ticket_type, 2)
        statements = [q["sql"] for q in queries.captured_queries]
        guarded = next(
            i for i, sql in enumerate(statements) if sql.startswith("UPDATE tickets_tickettype")
        )
        after = statements[guarded + 1 :]
        assert all(sql.startswith(("COMMIT", "RELEASE SAVEPOINT")) for sql in after), after
        assert refreshed(ticket_type).reserved == 2

    def test_a_first_hold_reads_nothing_it_does_not_need(self, django_assert_max_num_queries):
        ticket_type = make_ticket_type(capacity=10)
        # ticket type, lock timeout (PostgreSQL), buyer's registration, INSERT registration,
        # INSERT hold, guarded UPDATE - plus the transaction's own statements.
        with django_assert_max_num_queries(9):
            hold(ticket_type, 1)

    def test_the_change_is_published_once_after_commit(self, django_capture_on_commit_callbacks):
        ticket_type = make_ticket_type(capacity=10)
        published = []

        def receiver(sender, function_id, availabilities, **kwargs):
            published.extend(availabilities)

        availability_changed.connect(receiver)
        try:
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                hold(ticket_type, 3)
            assert published == []  # nothing before commit
            for callback in callbacks:
                callback()
        finally:
            availability_changed.disconnect(receiver)
        assert [(a.ticket_type_id, a.reserved) for a in published] == [(ticket_type.pk, 3)]

    def test_a_refused_hold_leaves_no_registration_behind(self):
        ticket_type = make_ticket_type(capacity=2)
        with pytest.raises(holds.NotEnoughAvailable):
            hold(ticket_type, 3, buyer="late")
        assert not Registration.objects.filter(buyer_key="late").exists()
        assert not Hold.objects.filter(ticket_type=ticket_type).exists()

    def test_a_buyer_back_after_their_hold_expired_starts_afresh(self):
        # Their expired registration is found on the row the hold locks anyway, expired,
        # and a new one opened - with no lookup of its own on every hold.
        ticket_type = make_ticket_type(capacity=10)
        first = hold(ticket_type, 2, buyer="back").registration
        Registration.objects.filter(pk=first.pk).update(expires_at=first.created_at)
        Hold.objects.filter(registration=first).update(expires_at=first.created_at)

        second = hold(ticket_type, 1, buyer="back").registration

        assert second.pk != first.pk
        first.refresh_from_db()
        assert first.status == Registration.Status.EXPIRED
        assert refreshed(ticket_type).reserved == 1

    def test_a_lapse_that_will_not_clear_asks_the_buyer_to_try_again(self, monkeypatch):
        # expire_registration skips a registration another transaction holds (a
        # confirmation in flight); if it stays expired the buyer is told to retry, not 500.
        ticket_type = make_ticket_type(capacity=10)
        first = hold(ticket_type, 1, buyer="stuck").registration
        Registration.objects.filter(pk=first.pk).update(expires_at=first.created_at)
        monkeypatch.setattr(holds, "expire_registration", lambda registration_id: None)

        with pytest.raises(SeatsBusy):
            hold(ticket_type, 1, buyer="stuck")
        assert refreshed(ticket_type).reserved == 1


@pytest.mark.django_db
class TestHoldRateLimit:
    def test_a_buyer_over_the_limit_gets_429_with_retry_after(self, client, settings):
        settings.HOLD_RATE_LIMIT_PER_BUYER = (2, 60)
        ticket_type = make_ticket_type(capacity=50)
        address = unique_address()
        answers = [
            client.post(
                hold_url(ticket_type),
                {"ticket_type": ticket_type.pk, "quantity": 1},
                REMOTE_ADDR=address,
            )
            for _ in range(4)
        ]
        # The first hold has no session yet (counted by address); the next two by session too.
        assert [a.status_code for a in answers] == [303, 303, 303, 429]
        assert 1 <= int(answers[-1]["Retry-After"]) <= 60
        assert refreshed(ticket_type).reserved == 3  # the refused attempt changed nothing

    def test_first_holds_from_one_address_are_limited_per_address(self, client, settings):
        settings.HOLD_RATE_LIMIT_PER_IP = (1, 60)
        ticket_type = make_ticket_type(capacity=50)
        crowded, other = unique_address(), unique_address()
        data = {"ticket_type": ticket_type.pk, "quantity": 1}

        assert client.post(hold_url(ticket_type), data, REMOTE_ADDR=crowded).status_code == 303
        client.cookies.clear()  # a new buyer, or one dropping cookies to dodge its count
        refused = client.post(hold_url(ticket_type), data, REMOTE_ADDR=crowded)
        client.cookies.clear()
        assert client.post(hold_url(ticket_type), data, REMOTE_ADDR=other).status_code == 303

        assert refused.status_code == 429
        assert "try again" in refused.content.decode()
        assert refreshed(ticket_type).reserved == 2

    def test_a_limit_switched_off_never_refuses(self, client, settings):
        settings.HOLD_RATE_LIMIT_PER_IP = None
        ticket_type = make_ticket_type(capacity=50)
        address = unique_address()
        for _ in range(5):
            client.cookies.clear()
            response = client.post(
                hold_url(ticket_type),
                {"ticket_type": ticket_type.pk, "quantity": 1},
                REMOTE_ADDR=address,
            )
            assert response.status_code == 303


class TestClientAddress:
    def test_the_proxy_header_counts_only_behind_our_proxy(self, rf, settings):
        request = rf.post("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="203.0.113.9")
        settings.BEHIND_PROXY = False
        assert client_address(request) == "127.0.0.1"
        settings.BEHIND_PROXY = True
        assert client_address(request) == "203.0.113.9"

    def test_behind_a_unix_socket_without_the_header(self, rf, settings):
        settings.BEHIND_PROXY = True
        assert client_address(rf.post("/", REMOTE_ADDR="")) == "unknown"


class TestRateSetting:
    @pytest.mark.parametrize(
        ("value", "expected"), [("10/60", (10, 60)), ("off", None), ("", (5, 30))]
    )
    def test_parses_count_and_window(self, monkeypatch, value, expected):
        monkeypatch.setenv("SOME_RATE", value)
        assert env_rate("SOME_RATE", "5/30") == expected

    @pytest.mark.parametrize("value", ["10", "ten/60", "0/60", "10/0", "1/2/3"])
    def test_refuses_nonsense(self, monkeypatch, value):
        monkeypatch.setenv("SOME_RATE", value)
        with pytest.raises(ValueError, match="SOME_RATE"):
            env_rate("SOME_RATE", "5/30")


# --- a real lock, held by another connection ---------------------------------------------


def other_connection() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"],
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
    )


@pytest.fixture
def locked_ticket_type(transactional_db):
    """A ticket type whose row another connection keeps locked, as a stuck sale would."""
    ticket_type = make_ticket_type(capacity=10)
    locker = other_connection()
    locker.execute("SELECT 1 FROM tickets_tickettype WHERE id = %s FOR UPDATE", [ticket_type.pk])
    yield ticket_type, locker
    locker.close()


@pytest.mark.postgres
class TestLockTimeout:
    def test_a_hold_gives_up_when_the_seat_counter_stays_locked(self, locked_ticket_type, settings):
        settings.HOLD_LOCK_TIMEOUT_MS = 200
        ticket_type, _ = locked_ticket_type
        started = time.monotonic()
        with pytest.raises(SeatsBusy, match="try again"):
            hold(ticket_type, 2, buyer="waiting")
        assert time.monotonic() - started < 2
        # Rolled back whole: no registration, no hold, no seats.
        assert not Registration.objects.filter(buyer_key="waiting").exists()
        assert refreshed(ticket_type).reserved == 0

    def test_over_http_the_buyer_gets_409_with_the_reason(self, locked_ticket_type, settings):
        from django.test import Client

        settings.HOLD_LOCK_TIMEOUT_MS = 200
        ticket_type, _ = locked_ticket_type
        response = Client().post(
            hold_url(ticket_type), {"ticket_type": ticket_type.pk, "quantity": 1}
        )
        assert response.status_code == 409
        assert SeatsBusy.default_message in response.content.decode()
        assert refusal_code(response) == "seats_busy"

    def test_control_without_the_bound_the_hold_waits_for_the_lock(
        self, locked_ticket_type, settings
    ):
        # Shows the fixture really holds the lock: unbounded, the hold queues behind it
        # and succeeds once the other transaction ends.
        settings.HOLD_LOCK_TIMEOUT_MS = 0
        ticket_type, locker = locked_ticket_type
        release_after = 0.5
        timer = threading.Timer(release_after, locker.rollback)
        timer.start()
        started = time.monotonic()
        try:
            hold(ticket_type, 2, buyer="patient")
        finally:
            timer.cancel()
        assert time.monotonic() - started >= release_after * 0.9
        assert refreshed(ticket_type).reserved == 2


@pytest.mark.postgres
def test_the_buyers_registration_is_locked_while_their_hold_runs(transactional_db):
    from django.db import transaction

    from tickets.services.locking import lock_pending_registration_of_buyer

    ticket_type = make_ticket_type(capacity=10)
    registration = hold(ticket_type, 1, buyer="two-tabs").registration
    other = other_connection()
    try:
        with transaction.atomic():
            locked = lock_pending_registration_of_buyer("two-tabs", registration.function_id)
            assert locked.pk == registration.pk
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute(
                    "SELECT 1 FROM tickets_registration WHERE id = %s FOR UPDATE NOWAIT",
                    [registration.pk],
                )
        other.rollback()
        # Once the transaction ends, the row is free again.
        other.execute(
            "SELECT 1 FROM tickets_registration WHERE id = %s FOR UPDATE NOWAIT", [registration.pk]
        )
    finally:
        other.close()


@pytest.mark.django_db
class TestEarlyRefusal:
    """Past a sell-out a hold is refused from the counters it read, with no transaction."""

    def test_sold_out_is_refused_without_a_transaction(self):
        ticket_type = make_ticket_type(capacity=1)
        hold(ticket_type, 1, buyer="first")
        with (
            CaptureQueriesContext(connection) as queries,
            pytest.raises(holds.NotEnoughAvailable) as refused,
        ):
            hold(ticket_type, 1, buyer="late")
        assert refused.value.available == 0
        statements = [q["sql"] for q in queries.captured_queries]
        assert len(statements) == 2, statements  # the ticket type, any expired hold
        assert not any(sql.startswith(("BEGIN", "UPDATE", "INSERT")) for sql in statements)

    def test_an_expired_hold_still_gives_its_seats_to_the_next_buyer(self):
        ticket_type = make_ticket_type(capacity=1)
        stale = hold(ticket_type, 1, buyer="gone").registration
        Registration.objects.filter(pk=stale.pk).update(expires_at=stale.created_at)
        Hold.objects.filter(registration=stale).update(expires_at=stale.created_at)
        assert hold(ticket_type, 1, buyer="next").seats == 1
        assert refreshed(ticket_type).reserved == 1
