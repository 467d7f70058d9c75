"""Staff safety rails in the admin: messages are refused whole when too long, previewed,
then sent; irreversible cancellations ask first, in red; refunds paid out are recorded
with their own permission and an audit entry."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.support.factories import confirm, hold, refreshed, staff_user
from tests.support.http import admin_action
from tickets.models import AuditEntry, Broadcast, Registration
from tickets.services import registrations as registration_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def sender(client):
    user = staff_user("sender", "view_function", "send_broadcast")
    client.force_login(user)
    return user


class TestMessages:
    def test_the_form_has_a_counter_and_no_maxlength_that_would_cut_silently(
        self, client, sender, ticket_type
    ):
        page = admin_action(client, "function", "send_message", ticket_type.event.function_id)
        body = page.content.decode()
        assert 'id="message-counter"' in body
        assert 'data-limit="280"' in body
        assert "maxlength" not in body

    @pytest.mark.parametrize("stage", ["preview", "send"])
    def test_an_overlong_message_is_refused_whole_and_nothing_is_sent(
        self, client, sender, ticket_type, stage
    ):
        page = admin_action(
            client,
            "function",
            "send_message",
            ticket_type.event.function_id,
            **{stage: "yes", "text": "x" * 300},
        ).content.decode()
        assert "at most 280 characters: this one has 300. Nothing was sent." in page
        assert 'id="message-preview"' not in page
        assert not Broadcast.objects.exists()
        assert not AuditEntry.objects.exists()

    def test_preview_then_confirm_sends(self, client, sender, ticket_type):
        function_id = ticket_type.event.function_id
        text = "Buses   leave the hotel at 5 <b>sharp</b>"
        preview = admin_action(
            client, "function", "send_message", function_id, preview="yes", text=text
        )
        body = preview.content.decode()
        assert not Broadcast.objects.exists()  # a preview sends nothing
        assert 'id="message-preview"' in body
        assert "Buses leave the hotel at 5 &lt;b&gt;sharp&lt;/b&gt;" in body  # as sent, escaped
        assert 'id="send-message"' in body
        # Edit goes back to the text; send sends what was previewed.
        edit = admin_action(client, "function", "send_message", function_id, edit="yes", text=text)
        assert "sharp" in edit.content.decode()
        assert 'id="message-counter"' in edit.content.decode()
        assert not Broadcast.objects.exists()
        admin_action(
            client,
            "function",
            "send_message",
            function_id,
            send="yes",
            text="Buses leave the hotel at 5 <b>sharp</b>",
        )
        sent = Broadcast.objects.get()
        assert sent.text == "Buses leave the hotel at 5 <b>sharp</b>"
        assert AuditEntry.objects.get().action == AuditEntry.Action.SEND_MESSAGE


class TestIrreversibleActionsAskFirst:
    @pytest.mark.parametrize("name", ["cancel_registrations", "cancel_unpaid"])
    def test_cancelling_registrations_shows_a_red_confirmation_first(
        self, client, ticket_type, name
    ):
        sold = confirm(ticket_type, 10, buyer="buyer")
        client.force_login(staff_user("organiser", "view_registration", "cancel_registration"))
        page = admin_action(client, "registration", name, sold.pk).content.decode()
        assert "This cannot be undone." in page
        assert 'class="button-danger"' in page
        assert 'id="confirm-cancellation"' in page
        sold.refresh_from_db()
        assert sold.status == Registration.Status.CONFIRMED  # nothing done yet
        assert refreshed(ticket_type).sold == 10
        assert not AuditEntry.objects.exists()

        admin_action(client, "registration", name, sold.pk, confirm="yes")
        sold.refresh_from_db()
        assert sold.status == Registration.Status.CANCELLED
        assert refreshed(ticket_type).sold == 0

    def test_cancel_events_confirms_in_red(self, admin_client, ticket_type):
        page = admin_action(admin_client, "event", "cancel_events", ticket_type.event_id)
        body = page.content.decode()
        assert 'class="button-danger"' in body
        assert "Cancelling cannot be undone." in body


def refund_due_registration(ticket_type) -> Registration:
    paid = confirm(ticket_type, 4, buyer="paid", payment_status="paid")
    registration_service.cancel_by_staff(paid.pk, cancelled_by=None)
    paid.refresh_from_db()
    assert paid.refund_due
    return paid


class TestMarkRefunded:
    def test_without_its_permission_refunds_cannot_be_marked(self, client, ticket_type):
        owed = refund_due_registration(ticket_type)
        # Even the staff who may cancel and mark paid need the refund permission.
        client.force_login(
            staff_user("clerk", "view_registration", "mark_paid", "cancel_registration")
        )
        changelist = client.get(reverse("admin:tickets_registration_changelist"))
        assert "mark_refunded" not in changelist.content.decode()
        admin_action(client, "registration", "mark_refunded", owed.pk)
        owed.refresh_from_db()
        assert owed.refund_due
        assert not AuditEntry.objects.filter(action=AuditEntry.Action.MARK_REFUNDED).exists()

    def test_with_it_the_refund_is_recorded_and_audited(self, client, ticket_type):
        owed = refund_due_registration(ticket_type)
        held = hold(ticket_type, 2, buyer="holder").registration  # owes nothing: skipped
        treasurer = staff_user("treasurer", "view_registration", "mark_refunded")
        client.force_login(treasurer)
        page = admin_action(
            client, "registration", "mark_refunded", owed.pk, held.pk
        ).content.decode()
        assert "Marked 1 registration(s) refunded." in page
        assert "1 registration(s) skipped" in page
        owed.refresh_from_db()
        assert not owed.refund_due
        assert owed.payment_status == Registration.PaymentStatus.REFUNDED
        entry = AuditEntry.objects.get(action=AuditEntry.Action.MARK_REFUNDED)
        assert (entry.actor, entry.object_id, entry.details["amount"]) == (
            treasurer,
            str(owed.pk),
            str(owed.total_amount),
        )
        # Marking again records nothing more: the refund is paid once.
        admin_action(client, "registration", "mark_refunded", owed.pk)
        assert AuditEntry.objects.filter(action=AuditEntry.Action.MARK_REFUNDED).count() == 1
