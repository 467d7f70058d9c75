"""Staff see each queue in order and remove entries or close lists, with their own
permission and an audit entry (tickets/admin/waitlist.py)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.support.factories import hold, make_ticket_type, refreshed, staff_user, waiters
from tests.support.http import admin_action
from tickets.models import AuditEntry, WaitlistEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue():
    ticket_type = make_ticket_type(capacity=1, name="Banquet seat")
    hold(ticket_type, 1, buyer="holder")
    return ticket_type, waiters(ticket_type, 3)


def logged_in(*codenames: str) -> Client:
    client = Client()
    name = "-".join(("clerk", *codenames))
    client.force_login(staff_user(name, "view_waitlistentry", "view_tickettype", *codenames))
    return client


def test_the_queue_lists_in_order_with_places_in_constant_queries(
    queue, django_assert_max_num_queries
):
    client = logged_in()
    with django_assert_max_num_queries(12):
        page = client.get(reverse("admin:tickets_waitlistentry_changelist")).content.decode()
    assert page.index("Waiter 0") < page.index("Waiter 1") < page.index("Waiter 2")
    assert 'class="field-place">3<' in page


def test_removing_needs_its_permission_and_is_audited(queue):
    ticket_type, (first, *_) = queue
    without = admin_action(logged_in(), "waitlistentry", "remove_entries", first.pk)
    assert without.status_code == 200
    first.refresh_from_db()
    assert first.status == WaitlistEntry.Status.WAITING

    admin_action(logged_in("manage_waitlist"), "waitlistentry", "remove_entries", first.pk)
    first.refresh_from_db()
    assert first.status == WaitlistEntry.Status.REMOVED
    assert refreshed(ticket_type).waiting == 2
    entry = AuditEntry.objects.get(action=AuditEntry.Action.WAITLIST_REMOVE)
    assert entry.details["email"] == "w0@example.com"


def test_closing_a_list_stops_joins_and_is_audited(queue):
    ticket_type, _ = queue
    staff = logged_in("manage_waitlist")
    admin_action(staff, "tickettype", "close_waitlists", ticket_type.pk)
    assert refreshed(ticket_type).waitlist_closed
    assert AuditEntry.objects.filter(action=AuditEntry.Action.WAITLIST_CLOSE).count() == 1
    admin_action(staff, "tickettype", "open_waitlists", ticket_type.pk)
    assert not refreshed(ticket_type).waitlist_closed
