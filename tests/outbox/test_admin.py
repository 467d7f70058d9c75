"""The outbox in the admin: staff see every message and what became of it; only those
allowed resend."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from outbox.models import OutboxMessage
from tests.outbox.conftest import queue_messages
from tests.support.factories import staff_user

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:outbox_outboxmessage_changelist"
Status = OutboxMessage.Status


def resend(client, *pks):
    return client.post(
        reverse(CHANGELIST),
        {"action": "resend_messages", "_selected_action": list(pks)},
        follow=True,
    )


@pytest.fixture
def given_up() -> OutboxMessage:
    [message] = queue_messages(1)
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=Status.FAILED,
        attempts=20,
        last_error="SMTPDataError: (451, b'Try again later')",
        next_attempt_at=timezone.now() - datetime.timedelta(days=1),
    )
    message.refresh_from_db()
    return message


def test_staff_see_each_message_with_its_status_attempts_and_last_error(client, given_up):
    client.force_login(staff_user("clerk", "view_outboxmessage"))
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert given_up.to in page
    assert given_up.subject in page
    assert "Gave up" in page
    assert "Try again later" in page


def test_the_list_finds_by_address_and_filters_by_status(client, given_up):
    queue_messages(1)  # person0@, still pending
    client.force_login(staff_user("clerk", "view_outboxmessage"))
    found = client.get(reverse(CHANGELIST), {"q": "person0@example.com", "status": "failed"})
    assert found.context["cl"].result_count == 1
    pending = client.get(reverse(CHANGELIST), {"status": "pending"})
    assert pending.context["cl"].result_count == 1


def test_the_change_page_is_read_only_and_previews_the_text(client, given_up):
    client.force_login(staff_user("clerk", "view_outboxmessage"))
    url = reverse("admin:outbox_outboxmessage_change", args=[given_up.pk])
    page = client.get(url).content.decode()
    assert f"Hello {given_up.to}" in page  # rendered as the sender would
    assert 'name="to"' not in page  # no form field: nothing to edit
    client.post(url, {"to": "someone@else.example"})
    given_up.refresh_from_db()
    assert given_up.to == "person0@example.com"


def test_without_the_permission_resend_is_neither_offered_nor_done(client, given_up):
    client.force_login(staff_user("clerk", "view_outboxmessage"))
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert "resend_messages" not in page
    resend(client, given_up.pk)
    given_up.refresh_from_db()
    assert (given_up.status, given_up.attempts) == (Status.FAILED, 20)
    assert not LogEntry.objects.exists()


def test_with_the_permission_resend_queues_them_due_now_with_attempts_from_nought(client, given_up):
    sent = queue_messages(1)[0]
    OutboxMessage.objects.filter(pk=sent.pk).update(status=Status.SENT, attempts=1)
    clerk = staff_user("postmaster", "view_outboxmessage", "resend_message")
    client.force_login(clerk)

    page = resend(client, given_up.pk, sent.pk).content.decode()

    assert "Queued 2 message(s) to be sent again" in page
    for message in (given_up, sent):
        message.refresh_from_db()
        assert (message.status, message.attempts) == (Status.PENDING, 0)
        assert message.next_attempt_at <= timezone.now()
    given_up.refresh_from_db()
    assert "451" in given_up.last_error  # kept until the next attempt says otherwise
    assert LogEntry.objects.filter(user=clerk).count() == 2


def test_nobody_adds_or_deletes_messages(client, given_up):
    client.force_login(
        staff_user("clerk", "view_outboxmessage", "add_outboxmessage", "delete_outboxmessage")
    )
    assert client.get(reverse("admin:outbox_outboxmessage_add")).status_code == 403
    url = reverse("admin:outbox_outboxmessage_delete", args=[given_up.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert OutboxMessage.objects.filter(pk=given_up.pk).exists()


def test_the_list_costs_the_same_queries_for_few_messages_or_many(
    client, django_assert_num_queries
):
    client.force_login(staff_user("clerk", "view_outboxmessage"))
    queue_messages(2)
    client.get(reverse(CHANGELIST))  # warm the session and permission caches
    with CaptureQueriesContext(connection) as few:
        client.get(reverse(CHANGELIST))
    queue_messages(20)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(reverse(CHANGELIST))
