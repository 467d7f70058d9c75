"""The names pages over HTTP (docs/design.md §11, contract §8.9)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from common.buyers import BUYER_SESSION_KEY
from tests.support import factories
from tests.support.html import elements_by_id, elements_with
from tickets.models import SEATS_PER_LODGE_TABLE, Attendee, Registration, Ticket
from tickets.services import names

pytestmark = pytest.mark.django_db


def lodge(tables: int = 1, *, buyer: str = "buyer-1", **function_fields) -> Registration:
    function = factories.make_function(**function_fields)
    tt = factories.make_ticket_type(factories.make_event(function), capacity=100)
    return factories.confirm(tt, tables, buyer=buyer, registration_type=Registration.Type.LODGE)


def owner_of(client, registration: Registration):
    session = client.session
    session[BUYER_SESSION_KEY] = registration.buyer_key
    session.save()
    return client


def names_url(registration: Registration) -> str:
    return reverse("tickets:registration-names", kwargs={"pk": registration.pk})


def seat_fields(ticket: Ticket, **fields) -> dict:
    return {
        "ticket": ticket.pk,
        "version": ticket.version,
        "attendee_type": Attendee.Type.GUEST,
        "first_name": "Ada",
        "last_name": "Lovelace",
        **fields,
    }


def seats(registration: Registration) -> list[Ticket]:
    return list(Ticket.objects.filter(hold__registration=registration).order_by("pk"))


class TestPage:
    def test_the_owner_sees_every_seat_unnamed(self, client):
        registration = lodge()
        response = owner_of(client, registration).get(names_url(registration))
        assert response.status_code == 200
        for ticket in seats(registration):
            seat = element(response, f"seat-{ticket.pk}")
            assert (seat.attrs.get("data-named"), seat.attrs.get("data-version")) == ("false", "0")

    def test_someone_else_gets_404(self, client):
        registration = lodge()
        assert client.get(names_url(registration)).status_code == 404

    def test_a_constant_number_of_queries_for_10_and_20_seats(self, client):
        counts = []
        for tables in (1, 2):
            registration = lodge(tables, buyer=f"lodge-{tables}")
            owner_of(client, registration)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(names_url(registration))
            assert seat_count(response) == tables * SEATS_PER_LODGE_TABLE
            counts.append(len(queries))
        # The registration and its seats (and the session, where it is read from the
        # database rather than the cache).
        assert counts[0] == counts[1] <= 3, counts

    def test_the_share_link_page_lists_the_same_seats(self, client):
        registration = names.create_share_link(lodge().pk)
        url = reverse("tickets:table-names", kwargs={"token": names.share_token(registration)})
        response = client.get(url)
        assert response.status_code == 200
        assert seat_count(response) == SEATS_PER_LODGE_TABLE
        assert b"share-link" not in response.content  # only the owner manages the link

    def test_a_revoked_share_link_is_404(self, client):
        registration = names.create_share_link(lodge().pk)
        token = names.share_token(registration)
        names.revoke_share_link(registration.pk)
        assert (
            client.get(reverse("tickets:table-names", kwargs={"token": token})).status_code == 404
        )


class TestNaming:
    def test_a_named_seat_comes_back_named(self, client):
        registration = lodge()
        ticket = seats(registration)[0]
        response = owner_of(client, registration).post(
            names_url(registration),
            seat_fields(ticket, dietary_needs=["vegan", "other"], dietary_requirements="no onion"),
        )
        assert response.status_code == 200
        seat = element(response, f"seat-{ticket.pk}")
        assert (seat.attrs.get("data-named"), seat.attrs.get("data-version")) == ("true", "1")
        assert "Vegan, Other: no onion" in seat.text

    def test_with_htmx_only_the_seat_comes_back(self, client):
        registration = lodge()
        ticket = seats(registration)[0]
        response = owner_of(client, registration).post(
            names_url(registration), seat_fields(ticket), headers={"HX-Request": "true"}
        )
        assert response.status_code == 200
        assert response.content.decode().lstrip().startswith(f'<li id="seat-{ticket.pk}"')

    def test_bad_fields_are_400_and_nothing_is_saved(self, client):
        registration = lodge()
        ticket = seats(registration)[0]
        response = owner_of(client, registration).post(
            names_url(registration), seat_fields(ticket, first_name="", dietary_needs=["other"])
        )
        assert response.status_code == 400
        seat = element(response, f"seat-{ticket.pk}")
        assert seat.attrs.get("data-named") == "false"
        assert "Say what the other dietary need is." in seat.text
        assert not registration.attendees.exists()

    def test_a_stale_version_is_409_with_what_the_other_saved(self, client):
        registration = lodge()
        ticket = seats(registration)[0]
        names.name_seat(registration.pk, ticket.pk, 0, names.SeatDetails(
            first_name="Bea", last_name="First", attendee_type=Attendee.Type.GUEST))  # fmt: skip
        response = owner_of(client, registration).post(
            names_url(registration), seat_fields(ticket, version=0), headers={"HX-Request": "true"}
        )
        assert response.status_code == 409
        text = response.content.decode()
        assert "Someone else named this seat a moment ago" in text
        assert "Bea First" in text
        assert Attendee.objects.get(registration=registration).first_name == "Bea"

    def test_after_the_due_date_403_and_the_page_is_read_only(self, client):
        registration = lodge(names_due_at=timezone.now() - datetime.timedelta(minutes=1))
        ticket = seats(registration)[0]
        owner_of(client, registration)
        page = client.get(names_url(registration))
        assert page.status_code == 200
        assert element(page, "names-closed").attrs.get("data-read-only") == "true"
        assert b"<form" not in parse_seats_html(page)
        response = client.post(names_url(registration), seat_fields(ticket))
        assert response.status_code == 403
        assert not registration.attendees.exists()

    def test_a_share_link_holder_names_a_seat(self, client):
        registration = names.create_share_link(lodge().pk)
        ticket = seats(registration)[0]
        url = reverse("tickets:table-names", kwargs={"token": names.share_token(registration)})
        response = client.post(url, seat_fields(ticket))
        assert response.status_code == 200
        assert registration.attendees.get().first_name == "Ada"

    def test_a_seat_of_another_registration_is_404(self, client):
        mine, theirs = lodge(), lodge(buyer="buyer-2")
        response = owner_of(client, mine).post(names_url(mine), seat_fields(seats(theirs)[0]))
        assert response.status_code == 404


class TestShareLink:
    def test_the_owner_creates_and_revokes_it(self, client):
        registration = lodge()
        owner_of(client, registration)
        url = reverse("tickets:registration-names-share", kwargs={"pk": registration.pk})
        assert client.post(url, {"action": "create"}).status_code == 303
        registration.refresh_from_db()
        share = element(client.get(names_url(registration)), "share-url")
        assert share.attrs.get("value").endswith(f"/tables/{names.share_token(registration)}/")
        assert client.post(url, {"action": "revoke"}).status_code == 303
        registration.refresh_from_db()
        assert registration.share_key == ""

    def test_nobody_else_can(self, client):
        registration = lodge()
        url = reverse("tickets:registration-names-share", kwargs={"pk": registration.pk})
        assert client.post(url, {"action": "create"}).status_code == 404

    def test_an_unknown_action_is_400(self, client):
        registration = lodge()
        url = reverse("tickets:registration-names-share", kwargs={"pk": registration.pk})
        assert owner_of(client, registration).post(url, {"action": "x"}).status_code == 400


def element(response, element_id: str):
    return elements_by_id(response.content.decode())[element_id]


def seat_count(response) -> int:
    return len(elements_with(response.content.decode(), "data-named"))


def parse_seats_html(response) -> bytes:
    start = response.content.index(b'class="seat-list"')
    return response.content[start:]


class TestIndividuals:
    """Owners of an individual registration correct their attendees the same way."""

    def test_the_owner_corrects_an_attendee_until_the_due_date(self, client):
        tt = factories.make_ticket_type()
        registration = factories.hold(tt, buyer="me").registration
        factories.reach_payment(registration, [factories.attendee("Alan", tt)])
        from tickets.services import registrations

        registration = registrations.confirm_registration(
            registration.pk, payment_method="invoice", payment_status="pending"
        )
        [ticket] = seats(registration)
        owner_of(client, registration)
        page = client.get(names_url(registration))
        assert element(page, f"seat-{ticket.pk}").attrs["data-named"] == "true"
        assert b"share-link" not in page.content  # nothing to share: everyone is named
        response = client.post(
            names_url(registration),
            seat_fields(
                ticket,
                first_name="Alan",
                last_name="Reade",
                attendee_type="mason",
                lodge_name="Lodge Antiquity",
                dietary_needs=["gluten_free"],
            ),
        )
        assert response.status_code == 200
        attendee = registration.attendees.get()
        assert (attendee.last_name, attendee.dietary_needs) == ("Reade", ["gluten_free"])
        assert attendee.phone == "0400 000 000"  # not on the names page: kept as it was
