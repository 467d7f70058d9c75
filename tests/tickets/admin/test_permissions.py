"""Staff actions on money and seats (tickets/admin/): each has its own permission, none
strands seats, and each leaves an audit entry."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.support.factories import confirm, hold, refreshed, staff_user
from tests.support.http import admin_action
from tickets.models import AuditEntry, Broadcast, Event, Hold, Registration
from tickets.services import broadcasts
from tickets.services.reconciliation import check_counters

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:tickets_registration_changelist"


def drift() -> list:
    return [check for check in check_counters() if check.drifted]


class TestMarkPaid:
    def test_a_view_only_staff_user_cannot_mark_paid(self, client, ticket_type):
        registration = confirm(ticket_type, 5)
        client.force_login(staff_user("viewer", "view_registration"))
        page = client.get(reverse(CHANGELIST)).content.decode()
        assert "mark_paid" not in page  # not even offered
        admin_action(client, "registration", "mark_paid", registration.pk)
        registration.refresh_from_db()
        assert registration.payment_status == Registration.PaymentStatus.PENDING
        assert not AuditEntry.objects.exists()

    def test_change_permission_alone_is_not_enough(self, client, ticket_type):
        registration = confirm(ticket_type, 5)
        client.force_login(staff_user("editor", "view_registration", "change_registration"))
        admin_action(client, "registration", "mark_paid", registration.pk)
        registration.refresh_from_db()
        assert registration.payment_status == Registration.PaymentStatus.PENDING

    def test_with_the_permission_staff_mark_paid_and_an_audit_entry_records_it(
        self, client, ticket_type
    ):
        registration = confirm(ticket_type, 5)
        treasurer = staff_user("treasurer", "view_registration", "mark_paid")
        client.force_login(treasurer)
        page = admin_action(client, "registration", "mark_paid", registration.pk).content.decode()
        assert "Marked 1 registration(s) paid." in page
        registration.refresh_from_db()
        assert registration.payment_status == Registration.PaymentStatus.PAID
        entry = AuditEntry.objects.get()
        assert entry.actor == treasurer
        assert entry.action == AuditEntry.Action.MARK_PAID
        assert (entry.object_type, entry.object_id) == (
            "tickets.registration",
            str(registration.pk),
        )
        assert entry.object_repr == registration.confirmation_number
        assert entry.details == {"amount": "500.00", "payment_method": "invoice"}
        assert entry.at is not None


class TestNoDeleteStrandsSeats:
    def test_a_registration_holding_seats_cannot_be_deleted_and_nothing_drifts(
        self, admin_client, ticket_type
    ):
        held = hold(ticket_type, 20, buyer="holder").registration
        sold = confirm(ticket_type, 10, buyer="buyer")
        for registration in (held, sold):
            url = reverse("admin:tickets_registration_delete", args=[registration.pk])
            assert admin_client.get(url).status_code == 403
            assert admin_client.post(url, {"post": "yes"}).status_code == 403
        # Nor in bulk: the action is not there.
        page = admin_client.get(reverse(CHANGELIST)).content.decode()
        assert "delete_selected" not in page
        admin_action(admin_client, "registration", "delete_selected", held.pk, sold.pk, post="yes")

        assert Registration.objects.count() == 2
        assert (refreshed(ticket_type).reserved, ticket_type.sold) == (20, 10)
        assert not drift()

    def test_cancelling_instead_gives_the_seats_back_audited(self, client, ticket_type):
        held = hold(ticket_type, 20, buyer="holder").registration
        sold = confirm(ticket_type, 10, buyer="buyer")
        staff = staff_user("organiser", "view_registration", "cancel_registration")
        client.force_login(staff)
        page = admin_action(
            client, "registration", "cancel_registrations", held.pk, sold.pk, confirm="yes"
        ).content.decode()
        assert "Cancelled 2 registration(s)." in page
        assert (refreshed(ticket_type).reserved, ticket_type.sold) == (0, 0)
        assert set(Registration.objects.values_list("status", flat=True)) == {"cancelled"}
        assert not drift()
        entries = AuditEntry.objects.filter(action=AuditEntry.Action.CANCEL_REGISTRATION)
        assert {e.object_id for e in entries} == {str(held.pk), str(sold.pk)}
        assert {e.details["seats"] for e in entries} == {20, 10}
        assert all(e.actor == staff for e in entries)

    def test_a_registration_with_no_seats_left_can_be_deleted(self, admin_client, ticket_type):
        registration = hold(ticket_type, 3).registration
        from tickets.services.holds import cancel_registration

        cancel_registration(registration.pk)
        url = reverse("admin:tickets_registration_delete", args=[registration.pk])
        assert admin_client.post(url, {"post": "yes"}).status_code == 302
        assert not Registration.objects.exists()
        assert not drift()

    def test_a_ticket_type_with_holds_cannot_be_deleted(self, admin_client, ticket_type):
        hold(ticket_type, 4)
        url = reverse("admin:tickets_tickettype_delete", args=[ticket_type.pk])
        admin_client.post(url, {"post": "yes"})
        assert Hold.objects.filter(ticket_type=ticket_type).exists()
        assert refreshed(ticket_type).reserved == 4
        assert not drift()


class TestBroadcastsAndEvents:
    def test_broadcast_records_cannot_be_deleted(self, admin_client, ticket_type):
        sent = broadcasts.send_message(ticket_type.event.function, "Hello", sent_by=None)
        url = reverse("admin:tickets_broadcast_delete", args=[sent.pk])
        assert admin_client.post(url, {"post": "yes"}).status_code == 403
        admin_action(admin_client, "broadcast", "delete_selected", sent.pk, post="yes")
        assert Broadcast.objects.filter(pk=sent.pk).exists()

    def test_cancel_event_needs_its_own_permission_and_is_audited(self, client, ticket_type):
        event = ticket_type.event
        client.force_login(staff_user("messenger", "view_event", "send_broadcast"))
        admin_action(client, "event", "cancel_events", event.pk, confirm="yes")
        assert Event.objects.get(pk=event.pk).status == Event.Status.PUBLISHED

        manager = staff_user("manager", "view_event", "cancel_event")
        client.force_login(manager)
        admin_action(client, "event", "cancel_events", event.pk, confirm="yes", reason="Storm")
        assert Event.objects.get(pk=event.pk).status == Event.Status.CANCELLED
        entry = AuditEntry.objects.get(action=AuditEntry.Action.CANCEL_EVENT)
        assert (entry.actor, entry.object_id, entry.details["reason"]) == (
            manager,
            str(event.pk),
            "Storm",
        )

    def test_a_message_is_audited(self, client, ticket_type):
        function = ticket_type.event.function
        sender = staff_user("sender", "view_function", "send_broadcast")
        client.force_login(sender)
        admin_action(client, "function", "send_message", function.pk, send="yes", text="Buses at 5")
        entry = AuditEntry.objects.get(action=AuditEntry.Action.SEND_MESSAGE)
        assert (entry.actor, entry.object_id, entry.details) == (
            sender,
            str(function.pk),
            {"text": "Buses at 5"},
        )


class TestAuditTrailIsReadOnly:
    def test_nobody_edits_or_deletes_entries(self, admin_client, ticket_type):
        registration = confirm(ticket_type, 1)
        admin_action(admin_client, "registration", "mark_paid", registration.pk)
        entry = AuditEntry.objects.get()
        assert admin_client.get(reverse("admin:tickets_auditentry_changelist")).status_code == 200
        url = reverse("admin:tickets_auditentry_delete", args=[entry.pk])
        assert admin_client.post(url, {"post": "yes"}).status_code == 403
        change = reverse("admin:tickets_auditentry_change", args=[entry.pk])
        admin_client.post(change, {"action": "cancel_event"})
        entry.refresh_from_db()
        assert entry.action == AuditEntry.Action.MARK_PAID
