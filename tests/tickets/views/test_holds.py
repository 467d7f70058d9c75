"""The hold form against one source taking a function (tickets/views/holds.py over the
hold service): sessions are free, so the address bounds what one source holds."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from common.buyers import BUYER_SESSION_KEY
from tests.support.factories import (
    hold,
    make_event,
    make_function,
    make_package,
    make_ticket_type,
    refreshed,
)
from tests.support.html import refusal_code
from tests.support.http import hold_url, post_hold, unique_address
from tickets.models import Event, Hold, Registration

pytestmark = pytest.mark.django_db


def ceremony(capacity: int = 600):
    return make_ticket_type(make_event(make_function()), name="Ceremony", capacity=capacity)


class TestSeatsPerAddress:
    def test_80_fresh_sessions_from_one_address_hold_at_most_100_seats(self, client):
        ticket_type = ceremony(600)
        address = unique_address()
        answers = []
        for _ in range(80):
            client.cookies.clear()  # a fresh session every time, as the attacker did
            client.get(ticket_type.event.function.get_absolute_url(), REMOTE_ADDR=address)
            answers.append(post_hold(client, ticket_type, 10, address=address))

        statuses = [a.status_code for a in answers]
        assert statuses.count(303) == 10
        assert set(statuses) == {303, 409}
        refused = next(a for a in answers if a.status_code == 409)
        assert refusal_code(refused) == "address_hold_limit"
        assert "At most 100 seats" in refused.content.decode()
        assert refreshed(ticket_type).reserved == 100
        # Another address is not held back by this one.
        client.cookies.clear()
        assert post_hold(client, ticket_type, 10, address=unique_address()).status_code == 303

    def test_the_cap_is_a_setting_counts_one_function_and_frees_with_the_holds(
        self, client, settings
    ):
        settings.HOLD_SEATS_PER_IP = 5
        ticket_type = ceremony()
        address = unique_address()
        assert post_hold(client, ticket_type, 5, address=address).status_code == 303
        assert post_hold(client, ticket_type, 1, address=address).status_code == 409
        # Another function from the same address has its own allowance.
        assert post_hold(client, ceremony(), 5, address=address).status_code == 303
        # Giving the seats back frees the allowance.
        registration = Registration.objects.get(function=ticket_type.event.function)
        client.post(reverse("tickets:registration-cancel", kwargs={"pk": registration.pk}))
        client.cookies.clear()
        assert post_hold(client, ticket_type, 5, address=address).status_code == 303

    def test_off_means_no_cap(self, client, settings):
        settings.HOLD_SEATS_PER_IP = None
        ticket_type = ceremony()
        address = unique_address()
        for _ in range(12):
            client.cookies.clear()
            assert post_hold(client, ticket_type, 10, address=address).status_code == 303
        assert refreshed(ticket_type).reserved == 120

    def test_the_address_is_recorded_on_the_registration(self, client):
        ticket_type = ceremony()
        address = unique_address()
        post_hold(client, ticket_type, 1, address=address)
        assert Registration.objects.get().client_address == address


class TestLeanHoldWithAnAddress:
    def test_the_cap_costs_one_aggregate_before_the_guarded_update(self):
        # tests/test_hold_path.py pins a hold without an address; one from a client adds
        # exactly one statement, and the guarded UPDATE stays last before COMMIT.
        ticket_type = ceremony()
        with CaptureQueriesContext(connection) as without:
            hold(ticket_type, 1, buyer="no-address")
        with CaptureQueriesContext(connection) as with_address:
            hold_with_address(ticket_type, buyer="from-a-client")
        assert len(with_address) == len(without) + 1
        statements = [q["sql"] for q in with_address.captured_queries]
        aggregate = next(i for i, sql in enumerate(statements) if "SUM(" in sql)
        guarded = next(
            i for i, sql in enumerate(statements) if sql.startswith("UPDATE tickets_tickettype")
        )
        assert aggregate < guarded
        assert all(s.startswith(("COMMIT", "RELEASE SAVEPOINT")) for s in statements[guarded + 1 :])


def hold_with_address(ticket_type, *, buyer: str):
    from tickets.services import holds

    return holds.hold_tickets(
        holds.HoldRequest(
            buyer_key=buyer,
            function=ticket_type.event.function,
            ticket_type_id=ticket_type.pk,
            quantity=1,
            client_address="192.0.2.1",
        )
    )


class TestEveryHoldCountsAgainstTheAddress:
    def test_buyers_with_sessions_still_fill_the_address_bucket(self, client, settings):
        settings.HOLD_RATE_LIMIT_PER_IP = (3, 60)
        settings.HOLD_RATE_LIMIT_PER_BUYER = (100, 60)
        ticket_type = ceremony()
        address = unique_address()
        client.get(ticket_type.event.function.get_absolute_url(), REMOTE_ADDR=address)
        statuses = [
            post_hold(client, ticket_type, 1, address=address).status_code for _ in range(4)
        ]
        # With a session all along, yet the fourth is refused by the address's bucket.
        assert statuses == [303, 303, 303, 429]
        assert refreshed(ticket_type).reserved == 3


class TestHoldForm:
    def test_hold_redirects_303_to_the_registration(self, client):
        tt = make_ticket_type(capacity=10)
        response = post_hold(client, tt, 2)
        assert response.status_code == 303
        registration = Registration.objects.get()
        assert response["Location"] == reverse(
            "tickets:registration-tickets", kwargs={"pk": registration.pk}
        )
        assert refreshed(tt).reserved == 2
        assert client.session[BUYER_SESSION_KEY] == registration.buyer_key

    def test_not_enough_available_is_409_with_the_reason(self, client):
        tt = make_ticket_type(capacity=1)
        hold(tt, 1, buyer="someone-else")
        response = post_hold(client, tt, 1)
        assert response.status_code == 409
        assert "has just sold out" in response.content.decode()
        assert refusal_code(response) == "not_enough_available"
        assert refreshed(tt).reserved == 1

    def test_cancelled_event_is_409(self, client):
        tt = make_ticket_type(event=make_event(status=Event.Status.CANCELLED))
        response = post_hold(client, tt)
        assert response.status_code == 409
        assert "cancelled" in response.content.decode()
        assert refusal_code(response) == "event_cancelled"

    def test_sales_closed_is_409(self, client):
        tt = make_ticket_type(event=make_event(status=Event.Status.PUBLISHED))
        tt.event.function.published = True
        tt.sales_end = tt.event.starts_at.replace(year=2000)
        tt.save()
        response = post_hold(client, tt)
        assert response.status_code == 409
        assert refusal_code(response) == "sales_closed"

    # The code is the refusal's when the service refused; None when the form did (its
    # fields say what is wrong, as the hold-errors list).
    @pytest.mark.parametrize(
        ("data", "code"),
        [
            ({}, None),
            ({"ticket_type": "1"}, None),
            ({"quantity": "1"}, None),
            ({"ticket_type": "abc", "quantity": "1"}, None),
            ({"ticket_type": "{tt}", "quantity": "two"}, None),
            ({"ticket_type": "{tt}", "quantity": "-3"}, None),
            ({"ticket_type": "{tt}", "quantity": "0"}, None),
            ({"ticket_type": "{tt}", "quantity": "1.5"}, None),
            # no made-up bound in the form: the service states the real per-order limit
            ({"ticket_type": "{tt}", "quantity": "99999999999999999999"}, "quantity_out_of_range"),
            # above max_per_order
            ({"ticket_type": "{tt}", "quantity": "11"}, "quantity_out_of_range"),
            # not a ticket type of this function
            ({"ticket_type": "999999", "quantity": "1"}, "unknown_ticket_type"),
            ({"ticket_type": "{tt}", "quantity": "1", "registration_type": "pirate"}, None),
        ],
    )
    def test_bad_input_is_400_and_changes_nothing(self, client, data, code):
        tt = make_ticket_type(capacity=10, max_per_order=10)
        data = {k: v.replace("{tt}", str(tt.pk)) for k, v in data.items()}
        response = client.post(hold_url(tt.event.function), data)
        assert response.status_code == 400
        assert refusal_code(response) == code
        assert refreshed(tt).reserved == 0
        assert not Registration.objects.exists()
        assert not Hold.objects.exists()

    def test_ticket_type_of_another_function_is_400(self, client):
        tt = make_ticket_type()
        other = make_function()
        response = client.post(hold_url(other), {"ticket_type": tt.pk, "quantity": 1})
        assert response.status_code == 400
        assert refusal_code(response) == "unknown_ticket_type"
        assert refreshed(tt).reserved == 0

    def test_get_is_not_allowed(self, client):
        tt = make_ticket_type()
        assert client.get(hold_url(tt.event.function)).status_code == 405

    def test_lodge_quantity_counts_tables(self, client):
        tt = make_ticket_type(capacity=100)
        response = post_hold(client, tt, 2, registration_type="lodge")
        assert response.status_code == 303
        assert refreshed(tt).reserved == 20


class TestPackageHold:
    """`POST /functions/<slug>/hold/` with `package` + `quantity` (docs/design.md §15)."""

    @pytest.fixture
    def package(self):
        function = make_function()
        ceremony = make_ticket_type(make_event(function), name="Ceremony", capacity=10)
        banquet = make_ticket_type(make_event(function), name="Banquet", capacity=3)
        return make_package([(ceremony, 1), (banquet, 1)], name="Ceremony and banquet")

    def post(self, client, package, **fields):
        return client.post(hold_url(package.function), {"package": package.pk, **fields})

    def test_held_whole_and_sent_to_the_registration(self, client, package):
        response = self.post(client, package, quantity=2)
        assert response.status_code == 303
        registration = Registration.objects.get()
        assert response["Location"].startswith(f"/registrations/{registration.pk}/")
        assert sorted(registration.holds.values_list("seats", flat=True)) == [2, 2]
        page = client.get(response["Location"], follow=True).content.decode()
        assert "Ceremony and banquet" in page
        assert 'id="selection-total">$300.00' in page  # two packages at $150

    def test_too_few_seats_is_409_with_nothing_held(self, client, package):
        response = self.post(client, package, quantity=4)
        assert response.status_code == 409
        assert refusal_code(response) == "package_unavailable"
        assert "Only 3 of Ceremony and banquet are left" in response.content.decode()
        assert not Hold.objects.exists()

    @pytest.mark.parametrize("fields", [{"quantity": "0"}, {"quantity": "x"}, {}])
    def test_bad_fields_are_400(self, client, package, fields):
        assert self.post(client, package, **fields).status_code == 400
        assert not Hold.objects.exists()

    def test_a_package_of_another_function_is_400(self, client, package):
        other = make_function()
        response = client.post(hold_url(other), {"package": package.pk, "quantity": 1})
        assert response.status_code == 400
        assert refusal_code(response) == "unknown_package"

    def test_the_function_page_shows_its_badge(self, client, package):
        page = client.get(package.function.get_absolute_url()).content.decode()
        assert f'id="package-availability-{package.pk}"' in page
        assert 'data-available="3"' in page
