"""Ways back in over HTTP (tickets/views/access.py): the manage link makes a browser an
owner, and "find my registration" answers the same for every address."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from outbox.delivery import deliver_due
from outbox.models import OutboxMessage
from tests.support.factories import confirm, hold, make_ticket_type
from tests.support.html import elements_by_id
from tests.support.http import body_of, post_hold
from tickets.models import Registration
from tickets.services import access
from tickets.services import holds as hold_service

pytestmark = pytest.mark.django_db

FIND_URL = reverse("tickets:registration-find")
SENT = "If we hold registrations for that address, we have sent their links to it."


def fresh_email() -> str:
    # Unique per test: rate limit counts outlive a test (in Redis, for their hour).
    return f"sec-{uuid.uuid4().hex[:12]}@example.com"


def fresh_address() -> str:
    return f"test-{uuid.uuid4().hex}"


def tampered(token: str) -> str:
    return token[:-1] + ("0" if token[-1] != "0" else "1")


def confirmation_url(registration: Registration) -> str:
    return reverse("tickets:registration-confirmation", kwargs={"pk": registration.pk})


def find(client: Client, email: str, address: str):
    return client.post(FIND_URL, {"email": email}, REMOTE_ADDR=address)


def element_by_id(html: str, element_id: str):
    return elements_by_id(html)[element_id]


def without_csrf_tokens(body: bytes) -> str:
    # Each response masks the CSRF secret afresh (64 characters): everything else must match.
    return re.sub(r"\b[A-Za-z0-9]{64}\b", "<csrf>", body.decode())


class TestManageLink:
    def test_a_fresh_browser_becomes_an_owner(self, client):
        registration = confirm(make_ticket_type(), email=fresh_email())

        response = client.get(access.manage_path(registration))

        assert response.status_code == 303
        assert response["Location"] == registration.get_absolute_url()
        assert "no-cache" in response["Cache-Control"]
        page = client.get(registration.get_absolute_url(), follow=True)
        assert page.redirect_chain[-1][0] == confirmation_url(registration)
        number = element_by_id(page.content.decode(), "confirmation-number")
        assert number.text == registration.confirmation_number
        # Ownership stays with the browser, not with having the link in the address bar.
        assert client.get(confirmation_url(registration)).status_code == 200

    @pytest.mark.parametrize("how", ["tampered", "another registration's", "unknown uuid"])
    def test_a_bad_link_is_the_sites_404_and_grants_nothing(self, client, how):
        tt = make_ticket_type()
        registration = confirm(tt, email=fresh_email(), buyer="a")
        token, pk = access.manage_token(registration), registration.pk
        if how == "tampered":
            token = tampered(token)
        elif how == "another registration's":
            token = access.manage_token(confirm(tt, email=fresh_email(), buyer="b"))
        else:
            pk = uuid.uuid4()
        url = reverse("tickets:registration-manage", kwargs={"pk": pk, "token": token})

        body = body_of(client.get(url), 404)

        assert 'id="not-found"' in body
        assert client.get(confirmation_url(registration)).status_code == 404

    def test_after_a_reissue_the_old_link_and_its_browsers_are_refused(self, client):
        registration = confirm(make_ticket_type(), email=fresh_email())
        old_link = access.manage_path(registration)
        assert client.get(old_link).status_code == 303
        assert client.get(confirmation_url(registration)).status_code == 200

        access.reissue_manage_links([registration.pk], reissued_by=None)

        assert client.get(confirmation_url(registration)).status_code == 404
        assert client.get(old_link).status_code == 404
        registration.refresh_from_db()
        assert client.get(access.manage_path(registration)).status_code == 303
        assert client.get(confirmation_url(registration)).status_code == 200

    def test_the_browsers_own_registration_stays_its_own(self, client):
        tt = make_ticket_type()
        other = confirm(tt, email=fresh_email(), buyer="someone-else")
        assert post_hold(client, tt, 1).status_code == 303
        mine = Registration.objects.get(status=Registration.Status.PENDING)

        assert client.get(access.manage_path(other)).status_code == 303

        assert client.get(confirmation_url(other)).status_code == 200
        tickets_step = reverse("tickets:registration-tickets", kwargs={"pk": mine.pk})
        assert client.get(tickets_step).status_code == 200
        mine.refresh_from_db()
        assert mine.status == Registration.Status.PENDING

    def test_a_cancelled_registration_opens_read_only(self, client):
        registration = hold(make_ticket_type(), buyer="gone").registration
        hold_service.cancel_registration(registration.pk)

        response = client.get(access.manage_path(registration), follow=True)

        closed = element_by_id(response.content.decode(), "registration-closed")
        assert closed.attrs["data-status"] == "cancelled"

    def test_only_get(self, client):
        registration = confirm(make_ticket_type(), email=fresh_email())
        assert client.post(access.manage_path(registration)).status_code == 405


class TestFindPage:
    def test_the_form_has_a_labelled_email_field(self, client):
        body = body_of(client.get(FIND_URL), 200)
        field = element_by_id(body, "id_email")
        assert (field.attrs["type"], field.attrs["autocomplete"]) == ("email", "email")
        assert '<label for="id_email">' in body
        assert element_by_id(body, "find-form").attrs["method"] == "post"

    def test_known_and_unknown_addresses_get_the_same_page(self, client):
        known = fresh_email()
        confirm(make_ticket_type(), email=known)

        for_known = find(client, known, fresh_address())
        for_unknown = find(client, fresh_email(), fresh_address())

        assert for_known.status_code == for_unknown.status_code == 200
        assert SENT in for_known.content.decode()
        assert without_csrf_tokens(for_known.content) == without_csrf_tokens(for_unknown.content)
        [message] = OutboxMessage.objects.filter(kind=access.FIND_REGISTRATIONS)
        assert message.to == known

    def test_a_malformed_address_is_400_and_sends_nothing(self, client):
        confirm(make_ticket_type(), email="sec@example.com")
        response = find(client, "sec@example", fresh_address())
        body = body_of(response, 400)
        assert 'class="field__error" role="alert"' in body
        assert not OutboxMessage.objects.filter(kind=access.FIND_REGISTRATIONS).exists()

    def test_hammering_one_email_from_many_addresses_is_429(self, client, settings):
        settings.FIND_PER_EMAIL_PER_HOUR = 2
        settings.FIND_PER_ADDRESS_PER_HOUR = None
        email = fresh_email()
        confirm(make_ticket_type(), email=email)
        assert [find(client, email, fresh_address()).status_code for _ in range(2)] == [200, 200]

        refused = find(client, email.upper(), fresh_address())

        assert refused.status_code == 429
        assert 0 < int(refused["Retry-After"]) <= 3600
        body = refused.content.decode()
        assert 'id="too-many"' in body
        assert 'data-code="too_many_finds"' in body
        # The inbox got two messages, not three.
        assert OutboxMessage.objects.filter(kind=access.FIND_REGISTRATIONS).count() == 2

    def test_hammering_from_one_address_is_429_whatever_the_email(self, client, settings):
        settings.FIND_PER_ADDRESS_PER_HOUR = 3
        settings.FIND_PER_EMAIL_PER_HOUR = None
        address = fresh_address()
        answers = [find(client, fresh_email(), address).status_code for _ in range(2)]
        answers.append(find(client, "not-an-address", address).status_code)
        answers.append(find(client, fresh_email(), address).status_code)
        assert answers == [200, 200, 400, 429]
        assert find(client, fresh_email(), fresh_address()).status_code == 200

    def test_the_429_costs_no_query(self, client, settings, django_assert_num_queries):
        settings.FIND_PER_ADDRESS_PER_HOUR = 1
        address = fresh_address()
        find(client, fresh_email(), address)
        with django_assert_num_queries(0):
            assert find(Client(), fresh_email(), address).status_code == 429

    def test_csrf_protected(self):
        client = Client(enforce_csrf_checks=True)
        assert client.post(FIND_URL, {"email": fresh_email()}).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_the_find_mail_arrives_over_smtp_and_its_links_open_in_a_fresh_browser(smtp_server):
    email = fresh_email()
    tt = make_ticket_type()
    first = confirm(tt, email=email, buyer="a")
    second = confirm(tt, email=email, buyer="b")
    assert find(Client(), email, fresh_address()).status_code == 200
    OutboxMessage.objects.exclude(kind=access.FIND_REGISTRATIONS).delete()

    assert deliver_due() == 1

    [message] = smtp_server.wait_for(1)
    assert message["To"] == email
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for registration in (first, second):
        assert registration.confirmation_number in text
        assert access.manage_url(registration) in text
        assert f'href="{access.manage_url(registration)}"' in html
    links = re.findall(r"https?://\S+/manage/\S+/", text)
    assert len(links) == 2
    for registration, link in zip((second, first), links, strict=True):  # newest first
        fresh = Client()
        response = fresh.get(urlsplit(link).path)
        assert response.status_code == 303
        page = fresh.get(response["Location"], follow=True)
        number = element_by_id(page.content.decode(), "confirmation-number")
        assert number.text == registration.confirmation_number
