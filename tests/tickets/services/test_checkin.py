"""Check-in at the door (tickets/services/checkin.py, docs/design.md §12)."""

from __future__ import annotations

import pytest

from tests.support.door import confirmed_individuals, tickets_of
from tests.support.factories import confirm, make_event, make_ticket_type, staff_user
from tickets.models import AuditEntry, CheckIn, Event, Registration
from tickets.services import broadcasts, checkin
from tickets.services import registrations as wizard
from tickets.services.checkin import Result
from tickets.services.exceptions import InvalidScan, NothingToPayAtDoor

pytestmark = pytest.mark.django_db


@pytest.fixture
def banquet():
    return make_ticket_type(make_event(name="Grand Banquet"), name="Banquet seat", capacity=50)


@pytest.fixture
def door_keeper():
    return staff_user("door", "check_in")


def test_first_scan_checks_in_and_is_audited(banquet, door_keeper):
    registration = confirmed_individuals(banquet, "Alan")
    ticket = tickets_of(registration)[0]

    outcome = checkin.check_in(banquet.event, code=ticket.code, door="North", by=door_keeper)

    assert outcome.result is Result.OK
    assert outcome.seats[0].name == "Alan Reid"
    assert outcome.door == "North"
    row = CheckIn.objects.get()
    assert (row.ticket_id, row.event_id, row.door, row.by) == (
        ticket.pk,
        banquet.event_id,
        "North",
        door_keeper,
    )
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CHECK_IN)
    assert entry.actor == door_keeper
    assert entry.details["tickets"] == [ticket.pk]


def test_second_scan_says_when_and_where_and_counts_nothing(banquet, door_keeper):
    ticket = tickets_of(confirmed_individuals(banquet, "Alan"))[0]
    first = checkin.check_in(banquet.event, code=ticket.code, door="North", by=door_keeper)

    again = checkin.check_in(banquet.event, code=ticket.code, door="South", by=door_keeper)

    assert again.result is Result.ALREADY
    assert again.door == "North"
    assert again.checked_in_at == first.checked_in_at
    assert "North" in again.message
    assert again.message.startswith("Already checked in at ")
    assert CheckIn.objects.count() == 1
    assert AuditEntry.objects.filter(action=AuditEntry.Action.CHECK_IN).count() == 1
    assert again.as_json()["result"] == "already"


def test_unknown_and_wrong_event(banquet):
    brunch = make_ticket_type(make_event(banquet.event.function, name="Ladies' Brunch"))
    brunch_ticket = tickets_of(confirmed_individuals(brunch, "Mary"))[0]

    assert checkin.check_in(banquet.event, code="not-a-code").result is Result.UNKNOWN
    wrong = checkin.check_in(banquet.event, code=brunch_ticket.code)
    assert wrong.result is Result.WRONG_EVENT
    assert "Ladies' Brunch" in wrong.message
    assert not CheckIn.objects.exists()


def test_cancelled_registration_and_cancelled_event(banquet, door_keeper):
    registration = confirmed_individuals(banquet, "Alan")
    ticket = tickets_of(registration)[0]
    wizard.cancel_by_staff(registration.pk, cancelled_by=door_keeper)
    assert checkin.check_in(banquet.event, code=ticket.code).result is Result.CANCELLED

    other = confirmed_individuals(banquet, "Bob", buyer="another")
    broadcasts.cancel_event(banquet.event_id, reason="", cancelled_by=door_keeper)
    event = Event.objects.get(pk=banquet.event_id)
    outcome = checkin.check_in(event, code=tickets_of(other)[0].code)
    assert outcome.result is Result.CANCELLED
    assert "cancelled" in outcome.message
    assert not CheckIn.objects.exists()


def test_a_whole_registration_at_once(banquet, door_keeper):
    lodge = confirm(banquet, 6)  # a delegation's six unnamed seats
    one = tickets_of(lodge)[0]
    checkin.check_in(banquet.event, code=one.code, door="North", by=door_keeper)

    outcome = checkin.check_in(banquet.event, registration_id=lodge.pk, door="South")

    assert outcome.result is Result.OK
    assert outcome.newly_checked_in == 5
    assert [s.result for s in outcome.seats].count(Result.ALREADY) == 1
    assert CheckIn.objects.filter(door="South").count() == 5
    again = checkin.check_in(banquet.event, registration_id=lodge.pk, door="South")
    assert again.result is Result.ALREADY
    assert again.door == "North"
    assert checkin.counts_of(banquet.event_id).checked_in == 6


def test_bad_input_is_refused_and_changes_nothing(banquet):
    ticket = tickets_of(confirmed_individuals(banquet, "Alan"))[0]
    for fields in ({}, {"code": ticket.code, "registration_id": "x"}, {"registration_id": "x"}):
        with pytest.raises(InvalidScan):
            checkin.check_in(banquet.event, **fields)
    with pytest.raises(InvalidScan):
        checkin.check_in(banquet.event, code="x" * 65)
    assert not CheckIn.objects.exists()


def test_pay_at_the_door_says_what_is_owed_and_marks_paid_audited(banquet, door_keeper):
    registration = confirmed_individuals(banquet, "Alan", "Bob", payment_method="door")
    cashier = staff_user("cashier", "check_in", "mark_paid")

    outcome = checkin.check_in(banquet.event, registration_id=registration.pk, door="North")
    assert outcome.to_pay == registration.total_amount == banquet.price * 2
    assert outcome.as_json()["registration"]["to_pay"] == "200.00"

    paid = checkin.mark_paid_at_door(registration.pk, door="North", marked_by=cashier)

    assert paid.payment_status == Registration.PaymentStatus.PAID
    entry = AuditEntry.objects.get(action=AuditEntry.Action.DOOR_PAYMENT)
    assert entry.actor == cashier
    assert entry.details == {"amount": "200.00", "payment_method": "door", "door": "North"}
    with pytest.raises(NothingToPayAtDoor):  # twice: nothing left to pay
        checkin.mark_paid_at_door(registration.pk, door="North", marked_by=cashier)
    assert checkin.check_in(banquet.event, code=tickets_of(paid)[0].code).to_pay is None


def test_invoice_registrations_owe_nothing_at_the_door(banquet):
    registration = confirmed_individuals(banquet, "Alan")
    with pytest.raises(NothingToPayAtDoor):
        checkin.mark_paid_at_door(registration.pk, door="", marked_by=staff_user("c"))


def test_counts_per_door_and_expected(banquet):
    first = confirmed_individuals(banquet, "Alan", "Bob")
    confirmed_individuals(banquet, "Carl", buyer="b2")
    a, b = tickets_of(first)
    checkin.check_in(banquet.event, code=a.code, door="North")
    checkin.check_in(banquet.event, code=b.code, door="South")

    counts = checkin.counts_of(banquet.event_id)

    assert (counts.checked_in, counts.expected) == (2, 3)
    assert counts.by_door == (("North", 1), ("South", 1))
    assert counts.version == CheckIn.objects.latest("pk").pk
    assert checkin.DoorCounts.from_message(counts.as_message()) == counts


def test_search_by_name_confirmation_number_and_lodge(banquet, django_assert_num_queries):
    alan = confirmed_individuals(banquet, "Alan", lodge_name="Lodge Antiquity")
    confirmed_individuals(banquet, "Bob", buyer="b2", lodge_name="Lodge Harmony", last_name="Ng")

    assert [f.registration for f in checkin.search(banquet.event, "alan reid")] == [alan]
    assert [f.registration for f in checkin.search(banquet.event, alan.confirmation_number)] == [
        alan
    ]
    with django_assert_num_queries(2):
        found = checkin.search(banquet.event, "lodge")
    assert len(found) == 2
    assert {f.seats for f in found} == {1}
    assert checkin.search(banquet.event, "x") == []
