"""Staff reissue a registration's manage link (tickets/admin/registrations.py): the old
link stops working, an audit entry says who did it, and the contact may be sent the new
one."""

from __future__ import annotations

import pytest
from django.urls import reverse

from outbox.models import OutboxMessage
from tests.support.factories import confirm, hold, staff_user
from tests.support.http import admin_action
from tickets.models import AuditEntry
from tickets.services import access

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:tickets_registration_changelist"


def test_a_view_only_staff_user_cannot_reissue(client, ticket_type):
    registration = confirm(ticket_type, email="sec@example.com")
    key = registration.manage_key
    client.force_login(staff_user("viewer", "view_registration"))
    assert "reissue_manage_links" not in client.get(reverse(CHANGELIST)).content.decode()
    admin_action(client, "registration", "reissue_manage_links", registration.pk)
    registration.refresh_from_db()
    assert registration.manage_key == key
    assert not AuditEntry.objects.exists()


def test_reissue_revokes_the_old_link_and_says_so(client, ticket_type):
    registration = confirm(ticket_type, email="sec@example.com")
    old_link = access.manage_path(registration)
    editor = staff_user("editor", "view_registration", "change_registration")
    client.force_login(editor)

    page = admin_action(client, "registration", "reissue_manage_links", registration.pk)

    assert "their old links no longer work" in page.content.decode()
    assert client.get(old_link).status_code == 404
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.object_id) == (
        AuditEntry.Action.REISSUE_MANAGE_LINK,
        editor,
        str(registration.pk),
    )
    assert not OutboxMessage.objects.filter(kind=access.MANAGE_LINK).exists()


def test_reissue_and_send_mails_the_contacts_that_have_an_address(admin_client, ticket_type):
    confirmed = confirm(ticket_type, email="sec@example.com")
    nameless = hold(ticket_type, buyer="no-contact-yet").registration

    page = admin_action(
        admin_client, "registration", "reissue_and_send_manage_links", confirmed.pk, nameless.pk
    ).content.decode()

    assert "Reissued the manage link of 2 registration(s)" in page
    assert "The new link is on its way to 1 contact(s)." in page
    assert "1 registration(s) skipped: no contact email" in page
    [message] = OutboxMessage.objects.filter(kind=access.MANAGE_LINK)
    assert message.to == "sec@example.com"
    assert AuditEntry.objects.count() == 2


def test_the_change_page_shows_the_current_link(admin_client, ticket_type):
    registration = confirm(ticket_type, email="sec@example.com")
    page = admin_client.get(
        reverse("admin:tickets_registration_change", args=[registration.pk])
    ).content.decode()
    assert access.manage_url(registration) in page
