"""The waiting list's rules (design §13): join only when short, queue first, first fit,
a lapsed offer passes on, nothing changes on bad input."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from outbox.models import OutboxMessage
from tests.support.factories import confirm, hold, make_ticket_type, refreshed, staff_user
from tickets.models import AuditEntry, Hold, Registration, WaitlistEntry
from tickets.services import holds, inventory, unpaid, waitlist
from tickets.services import registrations as wizard
from tickets.services.exceptions import (
    AlreadyWaiting,
    InvalidWaitlistRequest,
    OfferNotClaimable,
    PeopleWaiting,
    SeatsStillAvailable,
    WaitlistClosed,
)

pytestmark = pytest.mark.django_db
Status = WaitlistEntry.Status


def join(ticket_type, quantity=1, email=None, name="Wor. Bro. Waiting", buyer_key="waiter"):
    email = email or f"{name.split()[-1].lower()}{WaitlistEntry.objects.count()}@example.com"
    return waitlist.join(
        waitlist.JoinRequest(
            function=ticket_type.event.function,
            ticket_type_id=ticket_type.pk,
            quantity=quantity,
            name=name,
            email=email,
            buyer_key=buyer_key,
        )
    )


def sold_out(capacity=2, **fields):
    """A ticket type whose every seat is held, one registration per seat."""
    ticket_type = make_ticket_type(capacity=capacity, **fields)
    registrations = [
        hold(ticket_type, 1, buyer=f"holder-{n}").registration for n in range(capacity)
    ]
    return ticket_type, registrations


def offer_of(entry) -> Registration:
    entry.refresh_from_db()
    return entry.offered_registration


class TestJoin:
    def test_joining_a_sold_out_ticket_type_counts_the_person_in(self):
        ticket_type, _ = sold_out()
        entry = join(ticket_type, 2, email="Alan@Example.com")
        assert entry.status == Status.WAITING
        assert entry.email == "alan@example.com"
        assert refreshed(ticket_type).waiting == 1
        state = waitlist.state_of(entry)
        assert (state.position, state.waiting) == (1, 1)
        assert OutboxMessage.objects.filter(kind=waitlist.JOINED_MAIL, to=entry.email).exists()

    def test_positions_follow_the_order_of_joining(self):
        ticket_type, _ = sold_out()
        entries = [join(ticket_type) for _ in range(3)]
        assert [waitlist.state_of(e).position for e in entries] == [1, 2, 3]

    @pytest.mark.parametrize(
        ("fields", "error"),
        [
            ({"quantity": 0}, InvalidWaitlistRequest),
            ({"quantity": 11}, InvalidWaitlistRequest),  # max_per_order is 10
            ({"quantity": "two"}, InvalidWaitlistRequest),
            ({"email": "not-an-address"}, InvalidWaitlistRequest),
            ({"name": "  "}, InvalidWaitlistRequest),
        ],
    )
    def test_bad_fields_are_refused_and_change_nothing(self, fields, error):
        ticket_type, _ = sold_out()
        request = {
            "function": ticket_type.event.function,
            "ticket_type_id": ticket_type.pk,
            "quantity": 1,
            "name": "Alan",
            "email": "alan@example.com",
        } | fields
        with pytest.raises(error) as refused:
            waitlist.join(waitlist.JoinRequest(**request))
        assert refused.value.http_status == 400
        assert not WaitlistEntry.objects.exists()
        assert refreshed(ticket_type).waiting == 0

    def test_a_list_with_the_seats_wanted_still_free_is_refused(self):
        ticket_type = make_ticket_type(capacity=3)
        hold(ticket_type, 1)
        with pytest.raises(SeatsStillAvailable) as refused:
            join(ticket_type, 2)
        assert refused.value.http_status == 409
        assert "2 seats are still available" in refused.value.message
        join(ticket_type, 3)  # more than are left: may wait
        assert refreshed(ticket_type).waiting == 1

    def test_a_closed_list_is_refused(self):
        ticket_type, _ = sold_out()
        waitlist.set_list_closed(ticket_type.pk, True, changed_by=staff_user("closer"))
        with pytest.raises(WaitlistClosed):
            join(ticket_type)
        assert refreshed(ticket_type).waiting == 0
        assert AuditEntry.objects.filter(action=AuditEntry.Action.WAITLIST_CLOSE).count() == 1

    def test_one_active_entry_per_email_per_ticket_type(self):
        ticket_type, _ = sold_out()
        join(ticket_type, email="alan@example.com")
        with pytest.raises(AlreadyWaiting) as refused:
            join(ticket_type, email="ALAN@example.com")
        assert refused.value.http_status == 409
        assert refreshed(ticket_type).waiting == 1
        assert WaitlistEntry.objects.count() == 1


# Offers settle after commit (services.waitlist.settle_offer): real transactions.
@pytest.mark.django_db(transaction=True)
class TestOffers:
    def test_a_released_hold_goes_to_the_first_entry_as_a_pending_registration(self):
        ticket_type, holders = sold_out()
        first, second = join(ticket_type), join(ticket_type)
        holds.cancel_registration(holders[0].pk)

        first.refresh_from_db()
        assert first.status == Status.OFFERED
        assert first.lapses_at > timezone.now()
        offer = first.offered_registration
        assert offer.is_pending
        assert offer.holds.get().seats == 1
        assert offer.expires_at == first.lapses_at
        ticket_type = refreshed(ticket_type)
        assert (ticket_type.available, ticket_type.waiting) == (0, 1)
        assert waitlist.state_of(second).position == 1
        assert OutboxMessage.objects.filter(kind=waitlist.OFFER_MAIL, to=first.email).exists()
        call_command("reconcile_inventory")

    def test_first_fit_an_entry_too_big_keeps_its_place(self):
        ticket_type, holders = sold_out(capacity=3)
        big, small = join(ticket_type, 3), join(ticket_type, 1)
        holds.cancel_registration(holders[0].pk)
        big.refresh_from_db()
        small.refresh_from_db()
        assert (big.status, small.status) == (Status.WAITING, Status.OFFERED)
        assert waitlist.state_of(big).position == 1

    def test_seats_no_entry_fits_go_to_the_public(self):
        ticket_type, holders = sold_out(capacity=3)
        join(ticket_type, 2)
        holds.cancel_registration(holders[0].pk)
        assert refreshed(ticket_type).available == 1
        hold(ticket_type, 1, buyer="public")  # the public may take what fits nobody

    def test_a_lapsed_offer_passes_to_the_next_entry(self):
        ticket_type, holders = sold_out()
        first, second = join(ticket_type), join(ticket_type)
        holds.cancel_registration(holders[0].pk)
        later = timezone.now() + datetime.timedelta(hours=1)
        holds.release_expired_holds(now=later)  # the first offer lapses (and the holds)

        first.refresh_from_db()
        second.refresh_from_db()
        assert first.status == Status.EXPIRED
        assert second.status == Status.OFFERED
        call_command("reconcile_inventory")

    def test_an_offer_taken_up_and_confirmed_is_accepted(self):
        ticket_type, holders = sold_out()
        entry = join(ticket_type)
        holds.cancel_registration(holders[0].pk)
        registration = waitlist.claim(waitlist.entry_of(entry.uuid), "claimer")
        assert registration.buyer_key == "claimer"
        wizard.continue_to_attendee_details(registration.pk)
        wizard.save_attendee_details(
            registration.pk,
            wizard.ContactDetails(
                contact_name="A", contact_email="a@example.com", contact_phone="1"
            ),
            [
                wizard.AttendeeDetails(
                    first_name="A", last_name="B", lodge_name="L", ticket_type_ids=(ticket_type.pk,)
                )
            ],
        )
        wizard.continue_to_payment(registration.pk)
        wizard.confirm_registration(
            registration.pk, payment_method="invoice", payment_status="pending"
        )
        entry.refresh_from_db()
        assert entry.status == Status.ACCEPTED

    def test_a_lapsed_offer_cannot_be_claimed(self):
        ticket_type, holders = sold_out(capacity=1)
        entry = join(ticket_type)
        holds.cancel_registration(holders[0].pk)
        holds.release_expired_holds(now=timezone.now() + datetime.timedelta(hours=1))
        with pytest.raises(OfferNotClaimable):
            waitlist.claim(waitlist.entry_of(entry.uuid), "late")

    @pytest.mark.parametrize("path", ["unsell_unpaid", "cancel_by_staff", "capacity"])
    def test_every_path_that_frees_seats_hands_them_to_the_queue(self, path):
        ticket_type = make_ticket_type(capacity=1)
        registration = confirm(ticket_type, 1)
        entry = join(ticket_type)
        staff = staff_user("staff")
        if path == "unsell_unpaid":
            unpaid.cancel_unpaid_registrations([registration.pk], cancelled_by=staff)
        elif path == "cancel_by_staff":
            wizard.cancel_by_staff(registration.pk, cancelled_by=staff)
        else:
            inventory.change_capacity(refreshed(ticket_type), 2)
        entry.refresh_from_db()
        assert entry.status == Status.OFFERED
        call_command("reconcile_inventory")

    def test_leaving_an_offered_entry_passes_its_seats_on(self):
        ticket_type, holders = sold_out()
        first, second = join(ticket_type), join(ticket_type)
        holds.cancel_registration(holders[0].pk)
        waitlist.leave(first.uuid)
        first.refresh_from_db()
        second.refresh_from_db()
        assert first.status == Status.REMOVED
        assert second.status == Status.OFFERED
        assert refreshed(ticket_type).waiting == 0
        call_command("reconcile_inventory")

    def test_leaving_a_waiting_entry_counts_it_out(self):
        ticket_type, _ = sold_out()
        entry = join(ticket_type)
        waitlist.leave(entry.uuid)
        assert refreshed(ticket_type).waiting == 0
        entry.refresh_from_db()
        assert entry.status == Status.REMOVED

    def test_no_hold_extension_while_people_wait(self):
        ticket_type, holders = sold_out()
        join(ticket_type)
        with pytest.raises(PeopleWaiting):
            wizard.extend_hold(holders[0].pk)
        assert Registration.objects.get(pk=holders[0].pk).hold_extended_at is None

    def test_cancelling_the_event_ends_its_lists_and_tells_those_waiting(
        self, django_capture_on_commit_callbacks
    ):
        from outbox.models import OutboxMessage
        from outbox.renderers import render
        from tickets.services import broadcasts

        ticket_type, _ = sold_out()
        entry = join(ticket_type)
        with django_capture_on_commit_callbacks(execute=True):
            broadcasts.cancel_event(
                ticket_type.event_id, reason="Venue flooded.", cancelled_by=staff_user("c")
            )
        entry.refresh_from_db()
        assert entry.status == Status.REMOVED
        assert entry.offered_registration is None  # the released seats went to nobody
        assert refreshed(ticket_type).waiting == 0
        message = OutboxMessage.objects.get(kind=waitlist.CANCELLED_MAIL)
        assert message.to == entry.email
        assert "Venue flooded." in render(message).text
        call_command("reconcile_inventory")

    def test_staff_removal_is_audited(self):
        ticket_type, _ = sold_out()
        entry = join(ticket_type)
        waitlist.remove_by_staff(entry.uuid, removed_by=staff_user("remover"))
        assert refreshed(ticket_type).waiting == 0
        assert AuditEntry.objects.filter(action=AuditEntry.Action.WAITLIST_REMOVE).count() == 1


def test_the_hold_path_reads_nothing_more_with_no_queue(django_assert_max_num_queries):
    # The same bound as tests/tickets/services/test_holds.py: the waiting count comes back
    # in the RETURNING the guarded UPDATE had anyway.
    ticket_type = make_ticket_type(capacity=10)
    with django_assert_max_num_queries(9):
        hold(ticket_type, 1)
    assert Hold.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_lifecycle_is_captured_and_the_funnel_counts_conversions(
    server_events_flushed_by_hand,
):
    from analytics.models import Interaction
    from tickets.services.funnel import funnel_of

    ticket_type, holders = sold_out(capacity=2)
    taker, _lapser, leaver = join(ticket_type), join(ticket_type), join(ticket_type)
    holds.cancel_registration(holders[0].pk)  # offer to taker
    holds.cancel_registration(holders[1].pk)  # offer to lapser
    registration = waitlist.claim(waitlist.entry_of(taker.uuid), "taker")
    reach_payment_and_confirm(registration, ticket_type)
    holds.release_expired_holds(now=timezone.now() + datetime.timedelta(hours=1))  # lapser's
    waitlist.leave(leaver.uuid)  # offered the lapsed seat, then leaves: it passes on

    server_events_flushed_by_hand.flush()
    actions = list(
        Interaction.objects.filter(action__startswith="waitlist.")
        .order_by("occurred_at", "pk")
        .values_list("action", flat=True)
    )
    assert actions.count("waitlist.join") == 3
    assert actions.count("waitlist.offer") == 3
    assert actions.count("waitlist.accept") == 1
    assert actions.count("waitlist.lapse") == 1
    assert actions.count("waitlist.leave") == 1
    funnel = funnel_of(ticket_type.event.function)
    assert (funnel.waitlist_joined, funnel.waitlist_offered, funnel.waitlist_converted) == (3, 3, 1)


def reach_payment_and_confirm(registration, ticket_type):
    wizard.continue_to_attendee_details(registration.pk)
    wizard.save_attendee_details(
        registration.pk,
        wizard.ContactDetails(contact_name="A", contact_email="a@example.com", contact_phone="1"),
        [
            wizard.AttendeeDetails(
                first_name="A", last_name="B", lodge_name="L", ticket_type_ids=(ticket_type.pk,)
            )
        ],
    )
    wizard.continue_to_payment(registration.pk)
    return wizard.confirm_registration(
        registration.pk, payment_method="invoice", payment_status="pending"
    )
