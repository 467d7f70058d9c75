"""The inventory rules, at the service level (docs/design.md §3)."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tests.support import factories
from tickets.models import SEATS_PER_LODGE_TABLE, Event, Hold, Registration, Ticket, TicketType
from tickets.services import holds, inventory
from tickets.services import registrations as wizard
from tickets.services.exceptions import (
    CapacityBelowCommitted,
    EventCancelled,
    HoldExpired,
    InvalidAttendees,
    NotEnoughAvailable,
    QuantityOutOfRange,
    RegistrationClosed,
    RegistrationTypeMismatch,
    SalesClosed,
    StepNotReached,
    UnknownTicketType,
)

pytestmark = pytest.mark.django_db


def _raw_update(sql: str, ticket_type: TicketType) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql.format(table=TicketType._meta.db_table), [ticket_type.pk])


class TestCheckConstraints:
    """The database itself refuses an oversell, whatever code writes the row."""

    def test_reserved_plus_sold_over_capacity_is_refused(self):
        tt = factories.make_ticket_type(capacity=10)
        with pytest.raises(IntegrityError):
            _raw_update("UPDATE {table} SET reserved = 6, sold = 5 WHERE id = %s", tt)
        assert (factories.refreshed(tt).reserved, tt.sold) == (0, 0)

    def test_negative_reserved_is_refused(self):
        tt = factories.make_ticket_type()
        with pytest.raises(IntegrityError):
            _raw_update("UPDATE {table} SET reserved = -1 WHERE id = %s", tt)

    def test_negative_sold_is_refused(self):
        tt = factories.make_ticket_type()
        with pytest.raises(IntegrityError):
            _raw_update("UPDATE {table} SET sold = -1 WHERE id = %s", tt)

    def test_capacity_below_counters_is_refused(self):
        tt = factories.make_ticket_type(capacity=10)
        factories.hold(tt, 4)
        with pytest.raises(IntegrityError):
            _raw_update("UPDATE {table} SET capacity = 3 WHERE id = %s", tt)

    def test_saving_a_stale_instance_never_overwrites_counters(self):
        tt = factories.make_ticket_type(capacity=10)
        stale = TicketType.objects.get(pk=tt.pk)
        factories.hold(tt, 4)
        stale.name = "Renamed"
        stale.capacity = 2  # capacity changes go through inventory.change_capacity
        stale.save()
        tt.refresh_from_db()
        assert (tt.name, tt.capacity, tt.reserved) == ("Renamed", 10, 4)


class TestHold:
    def test_hold_reserves_seats_and_bumps_version(self):
        tt = factories.make_ticket_type(capacity=10)
        created = factories.hold(tt, 3)
        tt.refresh_from_db()
        assert (tt.reserved, tt.sold, tt.available, tt.version) == (3, 0, 7, 1)
        assert created.seats == 3
        assert created.status == Hold.Status.ACTIVE
        assert created.registration.status == Registration.Status.PENDING
        assert created.expires_at == created.registration.expires_at

    def test_hold_expiry_uses_function_hold_minutes(self):
        tt = factories.make_ticket_type(
            event=factories.make_event(factories.make_function(hold_minutes=7))
        )
        before = timezone.now()
        created = factories.hold(tt)
        expected = before + datetime.timedelta(minutes=7)
        assert abs((created.expires_at - expected).total_seconds()) < 5

    def test_not_enough_available_changes_nothing(self):
        tt = factories.make_ticket_type(capacity=5)
        factories.hold(tt, 4, buyer="a")
        with pytest.raises(NotEnoughAvailable) as refused:
            factories.hold(tt, 2, buyer="b")
        assert refused.value.available == 1
        assert "Only 1 seat is left" in refused.value.message
        assert (refused.value.code, refused.value.http_status) == ("not_enough_available", 409)
        assert factories.refreshed(tt).reserved == 4
        assert not Registration.objects.filter(buyer_key="b").exists()

    def test_second_hold_of_same_type_grows_the_line(self):
        tt = factories.make_ticket_type()
        first = factories.hold(tt, 2)
        second = factories.hold(tt, 3)
        assert first.pk == second.pk
        assert Hold.objects.get(pk=first.pk).seats == 5
        assert factories.refreshed(tt).reserved == 5

    def test_combined_quantity_respects_max_per_order(self):
        tt = factories.make_ticket_type(max_per_order=4)
        factories.hold(tt, 3)
        with pytest.raises(QuantityOutOfRange):
            factories.hold(tt, 2)
        assert factories.refreshed(tt).reserved == 3

    def test_holds_of_one_buyer_share_a_registration(self):
        event = factories.make_event()
        a = factories.make_ticket_type(event)
        b = factories.make_ticket_type(event)
        assert factories.hold(a).registration.pk == factories.hold(b).registration.pk

    @pytest.mark.parametrize("quantity", [0, 11])
    def test_quantity_outside_order_limits(self, quantity):
        tt = factories.make_ticket_type(min_per_order=1, max_per_order=10)
        with pytest.raises(QuantityOutOfRange) as refused:
            factories.hold(tt, quantity)
        assert (refused.value.code, refused.value.http_status) == ("quantity_out_of_range", 400)
        assert factories.refreshed(tt).reserved == 0

    def test_lodge_tables_count_ten_seats_each(self):
        tt = factories.make_ticket_type(capacity=100)
        created = factories.hold(tt, 3, registration_type=Registration.Type.LODGE)
        assert (created.seats, created.tables) == (3 * SEATS_PER_LODGE_TABLE, 3)
        assert factories.refreshed(tt).reserved == 30

    def test_lodge_table_needs_ten_free_seats(self):
        tt = factories.make_ticket_type(capacity=25)
        factories.hold(tt, 2, registration_type=Registration.Type.LODGE, buyer="lodge-1")
        with pytest.raises(NotEnoughAvailable):
            factories.hold(tt, 1, registration_type=Registration.Type.LODGE, buyer="lodge-2")
        assert factories.refreshed(tt).reserved == 20

    def test_lodge_table_limit(self):
        tt = factories.make_ticket_type(capacity=500, max_tables_per_order=2)
        with pytest.raises(QuantityOutOfRange):
            factories.hold(tt, 3, registration_type=Registration.Type.LODGE)

    def test_other_registration_type_in_progress_is_refused(self):
        tt = factories.make_ticket_type()
        factories.hold(tt, 1)
        with pytest.raises(RegistrationTypeMismatch):
            factories.hold(tt, 1, registration_type=Registration.Type.LODGE)

    def test_cancelled_event_refuses_holds(self):
        tt = factories.make_ticket_type(event=factories.make_event(status=Event.Status.CANCELLED))
        with pytest.raises(EventCancelled):
            factories.hold(tt)

    def test_sales_window_is_enforced(self):
        soon = timezone.now() + datetime.timedelta(hours=1)
        tt = factories.make_ticket_type(sales_start=soon)
        with pytest.raises(SalesClosed):
            factories.hold(tt)
        ended = factories.make_ticket_type(sales_end=timezone.now() - datetime.timedelta(minutes=1))
        with pytest.raises(SalesClosed):
            factories.hold(ended)

    def test_ticket_type_of_another_function_is_unknown(self):
        tt = factories.make_ticket_type()
        other = factories.make_function()
        with pytest.raises(UnknownTicketType):
            holds.hold_tickets(
                holds.HoldRequest(buyer_key="x", function=other, ticket_type_id=tt.pk, quantity=1)
            )


class TestRelease:
    def test_release_one_line(self):
        tt = factories.make_ticket_type()
        created = factories.hold(tt, 2)
        holds.release_hold(created.registration.pk, created.pk)
        assert factories.refreshed(tt).reserved == 0
        assert Hold.objects.get(pk=created.pk).status == Hold.Status.RELEASED

    def test_cancel_registration_releases_everything(self):
        event = factories.make_event()
        a, b = factories.make_ticket_type(event), factories.make_ticket_type(event)
        registration = factories.hold(a, 2).registration
        factories.hold(b, 3)
        holds.cancel_registration(registration.pk)
        assert factories.refreshed(a).reserved == factories.refreshed(b).reserved == 0
        registration.refresh_from_db()
        assert registration.status == Registration.Status.CANCELLED
        with pytest.raises(RegistrationClosed) as refused:
            holds.cancel_registration(registration.pk)
        assert refused.value.code == "registration_closed"


class TestExpiry:
    def _expire(self, registration: Registration) -> None:
        past = timezone.now() - datetime.timedelta(seconds=1)
        Registration.objects.filter(pk=registration.pk).update(expires_at=past)
        registration.holds.update(expires_at=past)

    def test_sweeper_releases_expired_holds(self):
        tt = factories.make_ticket_type(capacity=10)
        expired = factories.hold(tt, 4, buyer="late").registration
        factories.hold(tt, 2, buyer="still-here")
        self._expire(expired)
        assert holds.release_expired_holds() == holds.Sweep(registrations=1, holds=1)
        assert factories.refreshed(tt).reserved == 2
        expired.refresh_from_db()
        assert expired.status == Registration.Status.EXPIRED
        assert expired.holds.get().status == Hold.Status.EXPIRED

    def test_sweeper_leaves_live_holds_alone(self):
        tt = factories.make_ticket_type()
        factories.hold(tt, 4)
        assert holds.release_expired_holds() == holds.Sweep(registrations=0, holds=0)
        assert factories.refreshed(tt).reserved == 4

    def test_sold_out_attempt_first_releases_expired_holds_of_that_type(self):
        tt = factories.make_ticket_type(capacity=4)
        expired = factories.hold(tt, 4, buyer="late").registration
        self._expire(expired)
        created = factories.hold(tt, 3, buyer="on-time")
        assert created.seats == 3
        assert factories.refreshed(tt).reserved == 3

    def test_late_confirm_succeeds_while_seats_remain(self):
        tt = factories.make_ticket_type(capacity=10)
        registration = factories.hold(tt, 2).registration
        factories.reach_payment(
            registration, [factories.attendee("A", tt), factories.attendee("B", tt)]
        )
        self._expire(registration)
        holds.release_expired_holds()
        confirmed = wizard.confirm_registration(
            registration.pk, payment_method="invoice", payment_status="pending"
        )
        assert confirmed.status == Registration.Status.CONFIRMED
        tt.refresh_from_db()
        assert (tt.reserved, tt.sold) == (0, 2)
        # The attendees keep the seats they were given before the expiry.
        assert (
            Ticket.objects.filter(hold__registration=registration, attendee__isnull=False).count()
            == 2
        )

    def test_late_confirm_is_refused_when_capacity_is_gone(self):
        tt = factories.make_ticket_type(capacity=3)
        registration = factories.hold(tt, 2, buyer="slow").registration
        factories.reach_payment(
            registration, [factories.attendee("A", tt), factories.attendee("B", tt)]
        )
        self._expire(registration)
        factories.hold(tt, 3, buyer="quick")  # releases the expired hold, then takes every seat
        with pytest.raises(HoldExpired):
            wizard.confirm_registration(
                registration.pk, payment_method="invoice", payment_status="pending"
            )
        tt.refresh_from_db()
        assert (tt.reserved, tt.sold) == (3, 0)
        registration.refresh_from_db()
        assert registration.status == Registration.Status.EXPIRED


class TestConfirm:
    def test_confirm_turns_holds_into_sold_seats(self):
        event = factories.make_event()
        banquet = factories.make_ticket_type(event, capacity=10, price="150.00")
        registration = factories.hold(banquet, 2).registration
        factories.reach_payment(
            registration, [factories.attendee("A", banquet), factories.attendee("B", banquet)]
        )
        confirmed = wizard.confirm_registration(
            registration.pk, payment_method="invoice", payment_status="pending"
        )
        banquet.refresh_from_db()
        assert (banquet.reserved, banquet.sold) == (0, 2)
        assert confirmed.confirmation_number.startswith("IND")
        assert len(confirmed.confirmation_number) == len("IND123456AB")
        assert confirmed.total_amount == 300
        assert confirmed.holds.get().status == Hold.Status.CONFIRMED
        assert Ticket.objects.filter(hold__registration=registration).count() == 2

    def test_lodge_confirmation_issues_unnamed_tickets_per_seat(self):
        tt = factories.make_ticket_type(capacity=50)
        registration = factories.hold(tt, 2, registration_type=Registration.Type.LODGE).registration
        factories.reach_payment(registration)
        confirmed = wizard.confirm_registration(
            registration.pk, payment_method="door", payment_status="pending"
        )
        assert confirmed.confirmation_number.startswith("LDG")
        assert Ticket.objects.filter(hold__registration=registration, attendee=None).count() == 20
        assert factories.refreshed(tt).sold == 20

    def test_confirm_before_payment_step_is_refused(self):
        tt = factories.make_ticket_type()
        registration = factories.hold(tt).registration
        with pytest.raises(StepNotReached) as refused:
            wizard.confirm_registration(
                registration.pk, payment_method="invoice", payment_status="pending"
            )
        assert refused.value.code == "step_not_reached"

    def test_confirmed_registration_cannot_confirm_twice(self):
        tt = factories.make_ticket_type()
        registration = factories.hold(tt).registration
        factories.reach_payment(registration, [factories.attendee("A", tt)])
        wizard.confirm_registration(registration.pk, payment_method="x", payment_status="pending")
        with pytest.raises(RegistrationClosed):
            wizard.confirm_registration(
                registration.pk, payment_method="x", payment_status="pending"
            )
        assert factories.refreshed(tt).sold == 1

    def test_attendee_counts_must_match_seats(self):
        tt = factories.make_ticket_type()
        registration = factories.hold(tt, 2).registration
        wizard.continue_to_attendee_details(registration.pk)
        with pytest.raises(InvalidAttendees, match="assign exactly") as refused:
            wizard.save_attendee_details(
                registration.pk, wizard.ContactDetails(), [factories.attendee("A", tt)]
            )
        assert (refused.value.code, refused.value.http_status) == ("invalid_attendees", 400)

    def test_one_ticket_per_attendee_per_event(self):
        event = factories.make_event()
        a, b = factories.make_ticket_type(event), factories.make_ticket_type(event)
        registration = factories.hold(a).registration
        factories.hold(b)
        wizard.continue_to_attendee_details(registration.pk)
        with pytest.raises(InvalidAttendees, match="only one ticket per event"):
            wizard.save_attendee_details(
                registration.pk, wizard.ContactDetails(), [factories.attendee("A", a, b)]
            )

    def test_a_mason_attends_under_a_lodge(self):
        tt = factories.make_ticket_type()
        registration = factories.hold(tt).registration
        wizard.continue_to_attendee_details(registration.pk)
        with pytest.raises(InvalidAttendees, match="under their lodge") as refused:
            wizard.save_attendee_details(
                registration.pk,
                wizard.ContactDetails(),
                [factories.attendee("A", tt, lodge_name="")],
            )
        assert refused.value.code == "invalid_attendees"

    def test_changing_tickets_sends_the_buyer_back_to_ticket_selection(self):
        tt = factories.make_ticket_type()
        registration = factories.hold(tt).registration
        factories.reach_payment(registration, [factories.attendee("A", tt)])
        factories.hold(tt)
        registration.refresh_from_db()
        assert registration.step == Registration.Step.TICKET_SELECTION


class TestCapacityChange:
    def test_capacity_can_shrink_to_committed_seats(self):
        tt = factories.make_ticket_type(capacity=10)
        factories.hold(tt, 4)
        result = inventory.change_capacity(tt, 4)
        assert (result.capacity, result.available) == (4, 0)
        assert factories.refreshed(tt).capacity == 4

    def test_capacity_below_reserved_plus_sold_is_refused(self):
        tt = factories.make_ticket_type(capacity=10)
        factories.hold(tt, 4)
        with pytest.raises(CapacityBelowCommitted) as refused:
            inventory.change_capacity(tt, 3)
        assert refused.value.committed == 4
        assert refused.value.code == "capacity_below_committed"
        assert factories.refreshed(tt).capacity == 10
