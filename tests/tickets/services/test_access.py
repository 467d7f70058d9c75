"""Ways back in (tickets/services/access.py): the signed manage link, the ownership it
grants, staff reissuing it, and "find my registration"."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.sessions.backends.signed_cookies import SessionStore

from analytics.models import Interaction
from outbox.models import OutboxMessage
from outbox.renderers import render
from tests.support.factories import (
    attendee,
    confirm,
    hold,
    make_ticket_type,
    reach_payment,
    staff_user,
)
from tickets.models import AuditEntry, Registration
from tickets.services import access
from tickets.services import holds as hold_service
from tickets.services.exceptions import TooManyFinds

pytestmark = pytest.mark.django_db


def fresh_email() -> str:
    # Unique per test: rate limit counts outlive a test (in Redis, for their hour).
    return f"sec-{uuid.uuid4().hex[:12]}@example.com"


def tampered(token: str) -> str:
    return token[:-1] + ("0" if token[-1] != "0" else "1")


class TestManageToken:
    def test_valid_for_its_registration_only(self):
        tt = make_ticket_type()
        mine, other = hold(tt, buyer="a").registration, hold(tt, buyer="b").registration
        token = access.manage_token(mine)
        assert access.manage_token_is_valid(mine, token)
        assert not access.manage_token_is_valid(other, token)
        assert not access.manage_token_is_valid(mine, tampered(token))
        assert not access.manage_token_is_valid(mine, "")

    def test_reissue_revokes_the_old_token(self):
        registration = confirm(make_ticket_type(), email=fresh_email())
        old = access.manage_token(registration)
        access.reissue_manage_links([registration.pk], reissued_by=staff_user("clerk"))
        registration.refresh_from_db()
        assert not access.manage_token_is_valid(registration, old)
        assert access.manage_token_is_valid(registration, access.manage_token(registration))

    def test_url_is_absolute_on_site_url(self, settings):
        settings.SITE_URL = "https://tickets.example.org"
        registration = hold(make_ticket_type()).registration
        assert access.manage_url(registration) == (
            f"https://tickets.example.org/registrations/{registration.pk}/manage/"
            f"{access.manage_token(registration)}/"
        )


class TestOpeningTheLink:
    def test_grants_this_session_and_records_the_opening(
        self, server_events_flushed_by_hand, django_capture_on_commit_callbacks
    ):
        registration = confirm(make_ticket_type(), email=fresh_email())
        session = SessionStore()
        token = access.manage_token(registration)

        with django_capture_on_commit_callbacks(execute=True):
            assert access.open_manage_link(session, registration.pk, token) == registration

        assert access.granted_token(session, registration.pk) == token
        server_events_flushed_by_hand.flush()
        opened = Interaction.objects.get(action="registration.manage_opened")
        assert opened.registration_id == registration.pk
        assert opened.source == Interaction.Source.SERVER

    @pytest.mark.parametrize("how", ["tampered", "revoked", "unknown registration"])
    def test_a_bad_link_grants_nothing_and_records_nothing(
        self, how, server_events_flushed_by_hand, django_capture_on_commit_callbacks
    ):
        registration = confirm(make_ticket_type(), email=fresh_email())
        token = access.manage_token(registration)
        pk = registration.pk
        if how == "tampered":
            token = tampered(token)
        elif how == "revoked":
            access.reissue_manage_links([pk], reissued_by=staff_user("clerk"))
        else:
            pk = uuid.uuid4()
        session = SessionStore()

        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            assert access.open_manage_link(session, pk, token) is None

        assert callbacks == []

        assert access.granted_token(session, pk) is None
        assert dict(session) == {}

    def test_grants_are_bounded_the_oldest_dropped(self, monkeypatch):
        monkeypatch.setattr(access, "MAX_GRANTS", 3)
        tt = make_ticket_type()
        registrations = [hold(tt, buyer=f"b{n}").registration for n in range(4)]
        session = SessionStore()
        for registration in registrations:
            access.open_manage_link(session, registration.pk, access.manage_token(registration))
        # Re-opening the first of the three kept makes it the newest.
        second = registrations[1]
        access.open_manage_link(session, second.pk, access.manage_token(second))

        kept = list(session[access.GRANTS_SESSION_KEY])
        assert kept == [str(r.pk) for r in (registrations[2], registrations[3], second)]


class TestReissue:
    def test_new_key_audit_entry_and_no_mail_unless_asked(self):
        registration = confirm(make_ticket_type(), email=fresh_email())
        old_key = registration.manage_key
        clerk = staff_user("clerk")

        [reissued] = access.reissue_manage_links([registration.pk], reissued_by=clerk)

        registration.refresh_from_db()
        assert registration.manage_key == reissued.manage_key != old_key
        entry = AuditEntry.objects.get(action=AuditEntry.Action.REISSUE_MANAGE_LINK)
        assert (entry.actor, entry.object_id, entry.details) == (
            clerk,
            str(registration.pk),
            {"mailed": False},
        )
        assert not OutboxMessage.objects.filter(kind=access.MANAGE_LINK).exists()

    def test_with_notify_the_contact_gets_the_new_link(self):
        email = fresh_email()
        registration = confirm(make_ticket_type(), email=email)
        access.reissue_manage_links([registration.pk], reissued_by=None, notify=True)

        registration.refresh_from_db()
        message = OutboxMessage.objects.get(kind=access.MANAGE_LINK)
        assert message.to == email
        body = render(message)
        assert access.manage_url(registration) in body.text
        assert access.manage_url(registration) in body.html
        assert "no longer work" in body.text
        assert AuditEntry.objects.get().details == {"mailed": True}

    def test_with_notify_and_no_contact_email_nothing_is_sent(self):
        registration = hold(make_ticket_type()).registration
        access.reissue_manage_links([registration.pk], reissued_by=None, notify=True)
        assert not OutboxMessage.objects.exists()
        assert AuditEntry.objects.get().details == {"mailed": False}


class TestFind:
    def test_one_message_lists_every_registration_of_the_contact(self):
        email = fresh_email()
        first, second = make_ticket_type(), make_ticket_type()
        confirmed = confirm(first, email=email, buyer="a")
        pending = hold(second, 2, buyer="b", registration_type="delegation").registration
        reach_payment(pending)
        Registration.objects.filter(pk=pending.pk).update(contact_email=email.upper())
        someone_else = confirm(first, email=fresh_email(), buyer="c")

        message = access.send_registrations_to(f"  {email.title()} ")

        assert OutboxMessage.objects.filter(kind=access.FIND_REGISTRATIONS).get() == message
        assert message.to == email.upper()  # the newest registration's spelling
        body = render(message)
        for registration in (confirmed, pending):
            assert access.manage_url(registration) in body.text
            assert access.manage_url(registration) in body.html
        assert confirmed.confirmation_number in body.text
        assert "Pending" in body.text
        assert access.manage_url(someone_else) not in body.text
        assert confirmed.function.name in body.html

    def test_nothing_for_an_unknown_address(self):
        confirm(make_ticket_type(), email=fresh_email())
        assert access.send_registrations_to(fresh_email()) is None
        assert not OutboxMessage.objects.filter(kind=access.FIND_REGISTRATIONS).exists()

    def test_an_attendees_own_address_is_not_searched(self):
        email = fresh_email()
        tt = make_ticket_type()
        registration = hold(tt, 2, buyer="a").registration
        # The first attendee of an individual registration is its contact; the second
        # gave an address of their own.
        reach_payment(registration, [attendee("Alan", tt), attendee("Bob", tt, email=email)])
        assert registration.attendees.filter(email=email).exists()
        assert access.send_registrations_to(email) is None

    def test_lapsed_holds_are_left_out(self):
        email = fresh_email()
        registration = hold(make_ticket_type(), buyer="a", registration_type="delegation")
        reach_payment(registration.registration)
        Registration.objects.filter(pk=registration.registration_id).update(contact_email=email)
        hold_service.cancel_registration(registration.registration_id)
        assert access.send_registrations_to(email) is not None  # cancelled: still listed
        Registration.objects.filter(pk=registration.registration_id).update(
            status=Registration.Status.EXPIRED
        )
        assert access.send_registrations_to(fresh_email()) is None
        assert access.registrations_of(email) == []

    def test_a_resend_after_reissue_carries_the_new_link(self):
        email = fresh_email()
        registration = confirm(make_ticket_type(), email=email)
        message = access.send_registrations_to(email)
        old_url = access.manage_url(registration)
        access.reissue_manage_links([registration.pk], reissued_by=None)
        registration.refresh_from_db()
        text = render(message).text
        assert access.manage_url(registration) in text
        assert old_url not in text


class TestFindLimits:
    def test_per_email_limit_counts_any_spelling_of_the_address(self):
        limits = access.FindLimits(per_address=None, per_email=2)
        email = fresh_email()
        access.count_find_for(email, limits)
        access.count_find_for(email.upper(), limits)
        with pytest.raises(TooManyFinds) as refused:
            access.count_find_for(f" {email} ", limits)
        assert 1 <= refused.value.retry_after <= 3600
        access.count_find_for(fresh_email(), limits)  # another address is counted apart

    def test_per_address_limit(self):
        limits = access.FindLimits(per_address=1, per_email=None)
        address = f"test-{uuid.uuid4().hex}"
        access.count_find_from(address, limits)
        with pytest.raises(TooManyFinds):
            access.count_find_from(address, limits)

    def test_off_means_no_limit(self):
        limits = access.FindLimits(per_address=None, per_email=None)
        for _ in range(50):
            access.count_find_for("same@example.com", limits)
