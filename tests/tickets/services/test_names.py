"""Names later (docs/design.md §11): naming seats, the version check, the due date."""

from __future__ import annotations

import datetime
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.utils import timezone

from tests.support import factories
from tickets.models import SEATS_PER_LODGE_TABLE, Attendee, Registration, Ticket
from tickets.services import names, registrations
from tickets.services.exceptions import (
    InvalidSeatDetails,
    NamesClosed,
    SeatNamedMeanwhile,
    ShareLinkNotOffered,
    UnknownSeat,
)
from tickets.signals import attendee_details_changed, seat_named

pytestmark = pytest.mark.django_db


def lodge_with_tables(tables: int = 1, **function_fields) -> Registration:
    function = factories.make_function(**function_fields)
    tt = factories.make_ticket_type(factories.make_event(function), capacity=100)
    return factories.confirm(tt, tables, registration_type=Registration.Type.LODGE)


def person(first_name: str = "Ada", **fields) -> names.SeatDetails:
    defaults = {"last_name": "Lovelace", "attendee_type": Attendee.Type.GUEST}
    return names.SeatDetails(first_name=first_name, **{**defaults, **fields})


def first_seat(registration: Registration) -> Ticket:
    return Ticket.objects.filter(hold__registration=registration).order_by("pk").first()


class TestSeats:
    def test_a_lodge_sees_its_seats_by_table_of_ten(self):
        registration = lodge_with_tables(2)
        [event_seats] = names.seats_of(registration)
        assert [len(t.seats) for t in event_seats.tables] == [SEATS_PER_LODGE_TABLE] * 2
        assert event_seats.tables[1].label.startswith("Table 2")

    def test_a_delegation_sees_one_list(self):
        tt = factories.make_ticket_type()
        registration = factories.confirm(tt, 3)
        [event_seats] = names.seats_of(registration)
        assert [len(t.seats) for t in event_seats.tables] == [3]


class TestNaming:
    def test_naming_a_seat_makes_an_attendee_and_bumps_the_version(self):
        registration = lodge_with_tables()
        ticket = first_seat(registration)
        named = names.name_seat(
            registration.pk,
            ticket.pk,
            ticket.version,
            person(dietary_needs=("vegan", "other"), dietary_requirements=" no onion "),
        )
        assert named.version == ticket.version + 1
        assert named.attendee.first_name == "Ada"
        assert named.attendee.dietary_needs == ["vegan", "other"]
        assert named.attendee.dietary_requirements == "no onion"
        assert names.unnamed_count(registration) == SEATS_PER_LODGE_TABLE - 1
        assert Ticket.objects.get(pk=ticket.pk).attendee == named.attendee

    def test_a_second_seat_gets_the_next_attendee_position(self):
        registration = lodge_with_tables()
        one, two = Ticket.objects.filter(hold__registration=registration).order_by("pk")[:2]
        names.name_seat(registration.pk, one.pk, one.version, person("Ada"))
        names.name_seat(registration.pk, two.pk, two.version, person("Bea"))
        assert list(registration.attendees.values_list("position", "first_name")) == [
            (1, "Ada"),
            (2, "Bea"),
        ]

    def test_correcting_a_named_seat_updates_the_same_attendee(self):
        registration = lodge_with_tables()
        ticket = first_seat(registration)
        named = names.name_seat(registration.pk, ticket.pk, ticket.version, person())
        names.name_seat(registration.pk, ticket.pk, named.version, person("Adah"))
        assert list(registration.attendees.values_list("first_name", flat=True)) == ["Adah"]

    def test_a_stale_version_is_refused_and_nothing_is_overwritten(self):
        registration = lodge_with_tables()
        ticket = first_seat(registration)
        names.name_seat(registration.pk, ticket.pk, ticket.version, person("First"))
        with pytest.raises(SeatNamedMeanwhile) as refused:
            names.name_seat(registration.pk, ticket.pk, ticket.version, person("Second"))
        assert refused.value.http_status == 409
        assert refused.value.ticket.attendee.first_name == "First"
        assert Attendee.objects.get(registration=registration).first_name == "First"

    def test_naming_changes_no_seat_counts(self):
        registration = lodge_with_tables()
        tt = registration.holds.get().ticket_type
        before = factories.refreshed(tt)
        counts = (before.sold, before.reserved, before.capacity, before.version)
        ticket = first_seat(registration)
        names.name_seat(registration.pk, ticket.pk, ticket.version, person())
        after = factories.refreshed(tt)
        assert (after.sold, after.reserved, after.capacity, after.version) == counts

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"dietary_needs": ("other",)}, "dietary_requirements"),
            ({"dietary_needs": ("chocolate",)}, "dietary_needs"),
            ({"attendee_type": Attendee.Type.MASON, "lodge_name": ""}, "lodge_name"),
            ({"last_name": " "}, "last_name"),
        ],
    )
    def test_bad_details_are_refused_and_nothing_saved(self, fields, field):
        registration = lodge_with_tables()
        ticket = first_seat(registration)
        with pytest.raises(InvalidSeatDetails) as refused:
            names.name_seat(registration.pk, ticket.pk, ticket.version, person(**fields))
        assert field in refused.value.errors
        assert Ticket.objects.get(pk=ticket.pk).version == ticket.version
        assert not registration.attendees.exists()

    def test_text_without_other_is_not_kept_and_lodges_only_for_masons(self):
        registration = lodge_with_tables()
        ticket = first_seat(registration)
        named = names.name_seat(
            registration.pk,
            ticket.pk,
            ticket.version,
            person(dietary_needs=("halal",), dietary_requirements="x", lodge_name="Lodge"),
        )
        assert (named.attendee.dietary_requirements, named.attendee.lodge_name) == ("", "")

    def test_a_seat_of_another_registration_is_unknown(self):
        mine, theirs = lodge_with_tables(), lodge_with_tables()
        ticket = first_seat(theirs)
        with pytest.raises(UnknownSeat):
            names.name_seat(mine.pk, ticket.pk, ticket.version, person())

    def test_after_the_due_date_names_are_closed(self):
        registration = lodge_with_tables(names_due_at=timezone.now() - datetime.timedelta(hours=1))
        ticket = first_seat(registration)
        with pytest.raises(NamesClosed) as refused:
            names.name_seat(registration.pk, ticket.pk, ticket.version, person())
        assert refused.value.http_status == 403
        assert not registration.attendees.exists()

    def test_without_a_due_date_names_close_when_the_function_starts(self):
        function = factories.make_function()
        assert names.names_open(function)
        assert not names.names_open(function, now=function.starts_at)

    def test_the_live_signal_goes_out_after_commit(self, django_capture_on_commit_callbacks):
        registration = lodge_with_tables()
        ticket = first_seat(registration)
        received = []
        seat_named.connect(lambda sender, **kw: received.append(kw), weak=False, dispatch_uid="t")
        try:
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                names.name_seat(registration.pk, ticket.pk, ticket.version, person())
            assert received == []
            for callback in callbacks:
                callback()
        finally:
            seat_named.disconnect(dispatch_uid="t")
        assert received[0]["ticket_ids"] == [ticket.pk]
        assert received[0]["registration_id"] == registration.pk

    def test_the_door_and_kitchen_hear_of_the_seats_events_after_commit(
        self, django_capture_on_commit_callbacks
    ):
        registration = lodge_with_tables()
        ticket = first_seat(registration)
        received = []
        attendee_details_changed.connect(
            lambda sender, **kw: received.append(kw["event_ids"]), weak=False, dispatch_uid="t"
        )
        try:
            with django_capture_on_commit_callbacks(execute=True):
                names.name_seat(registration.pk, ticket.pk, ticket.version, person())
        finally:
            attendee_details_changed.disconnect(dispatch_uid="t")
        assert received == [[ticket.event_id]]

    def test_an_individual_corrects_an_attendee_on_every_seat_of_theirs(self):
        registration = individual_at_two_events()
        dinner_seat, brunch_seat = Ticket.objects.filter(hold__registration=registration)
        brunch_version = brunch_seat.version
        names.name_seat(
            registration.pk,
            dinner_seat.pk,
            dinner_seat.version,
            person("Alan", last_name="Reid", special_needs="Wheelchair access"),
        )
        assert registration.attendees.get().special_needs == "Wheelchair access"
        assert Ticket.objects.get(pk=brunch_seat.pk).version == brunch_version + 1


def individual_at_two_events() -> Registration:
    """Alan, confirmed with a seat at a dinner and at a brunch."""
    function = factories.make_function()
    dinner = factories.make_ticket_type(factories.make_event(function))
    brunch = factories.make_ticket_type(factories.make_event(function))
    registration = factories.hold(dinner).registration
    factories.hold(brunch)
    factories.reach_payment(registration, [factories.attendee("Alan", dinner, brunch)])
    return registrations.confirm_registration(
        registration.pk, payment_method="invoice", payment_status="pending"
    )


class TestShareLink:
    def test_a_link_opens_the_registration_until_revoked(self):
        registration = names.create_share_link(lodge_with_tables().pk)
        token = names.share_token(registration)
        assert names.registration_of_share_token(token) == registration
        names.revoke_share_link(registration.pk)
        assert names.registration_of_share_token(token) is None

    def test_a_new_link_revokes_the_old_one(self):
        registration = names.create_share_link(lodge_with_tables().pk)
        old = names.share_token(registration)
        names.create_share_link(registration.pk)
        assert names.registration_of_share_token(old) is None

    @pytest.mark.parametrize("token", ["", "nonsense", "0" * 72, "zz" * 40])
    def test_bad_tokens_open_nothing(self, token):
        names.create_share_link(lodge_with_tables().pk)
        assert names.registration_of_share_token(token) is None

    def test_an_unshared_registration_has_no_valid_link(self):
        registration = lodge_with_tables()
        assert names.registration_of_share_token(names.share_token(registration)) is None

    def test_individuals_have_no_share_link(self):
        registration = individual_at_two_events()
        with pytest.raises(ShareLinkNotOffered):
            names.create_share_link(registration.pk)


# --- two people, one seat, at once (PostgreSQL: each thread its own connection) ----------


def name_at_once(registration: Registration, ticket: Ticket, first_names: list[str]) -> list:
    """Each person read the seat at version v; all save at once. Returns outcomes."""
    ready = threading.Barrier(len(first_names))

    def save(first_name: str) -> str:
        try:
            ready.wait()
            names.name_seat(registration.pk, ticket.pk, ticket.version, person(first_name))
            return f"saved {first_name}"
        except SeatNamedMeanwhile:
            return "409"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(first_names)) as pool:
        return list(pool.map(save, first_names))


@pytest.mark.postgres
class TestDoubleNaming:
    pytestmark = pytest.mark.django_db(transaction=True)

    def test_exactly_one_of_two_wins_and_the_stored_row_is_the_winners(self):
        registration = lodge_with_tables()
        ticket = first_seat(registration)
        outcomes = name_at_once(registration, ticket, ["Ada", "Bea"])
        assert sorted(outcomes).count("409") == 1
        [winner] = [o.removeprefix("saved ") for o in outcomes if o != "409"]
        stored = Ticket.objects.select_related("attendee").get(pk=ticket.pk)
        assert stored.attendee.first_name == winner
        assert stored.version == ticket.version + 1
        assert registration.attendees.count() == 1

    def test_control_without_the_version_check_the_harness_catches_the_overwrite(self, monkeypatch):
        monkeypatch.setattr(names, "VERSION_CHECK", False)
        registration = lodge_with_tables()
        ticket = first_seat(registration)
        outcomes = name_at_once(registration, ticket, ["Ada", "Bea"])
        # Both "won": the one saved first was silently overwritten by the other.
        assert "409" not in outcomes
        assert Ticket.objects.get(pk=ticket.pk).version == ticket.version + 2


class TestInteractionEvents:
    """Server-side events through the capture path (analytics hears tickets' signals)."""

    def test_naming_and_the_share_link_are_captured(
        self, django_capture_on_commit_callbacks, server_events_flushed_by_hand
    ):
        from analytics.models import Interaction

        registration = lodge_with_tables()
        ticket = first_seat(registration)
        server_events_flushed_by_hand.discard()
        with django_capture_on_commit_callbacks(execute=True):
            names.create_share_link(registration.pk)
        with django_capture_on_commit_callbacks(execute=True):
            names.name_seat(registration.pk, ticket.pk, ticket.version, person())
        with django_capture_on_commit_callbacks(execute=True):
            names.revoke_share_link(registration.pk)
        server_events_flushed_by_hand.flush()
        actions = list(
            Interaction.objects.filter(registration_id=registration.pk)
            .order_by("occurred_at", "id")
            .values_list("action", flat=True)
        )
        assert actions == [
            "registration.share_link_created",
            "registration.named",
            "registration.share_link_revoked",
        ]
        # Counts and kinds only: nobody's name goes into analytics.
        assert not Interaction.objects.filter(data__icontains="Ada").exists()
