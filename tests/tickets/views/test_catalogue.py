"""The function list and page, their fragments, and the JSON availability API over HTTP."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.support.factories import hold, make_event, make_function, make_package, make_ticket_type
from tickets.models import Event

pytestmark = pytest.mark.django_db


class TestFunctionPages:
    def test_lists_only_published_functions(self, client):
        make_function(name="Grand Installation")
        make_function(name="Secret Draft", published=False)
        page = client.get("/").content.decode()
        assert "Grand Installation" in page
        assert "Secret Draft" not in page

    def test_unpublished_function_is_404(self, client):
        function = make_function(published=False)
        assert client.get(function.get_absolute_url()).status_code == 404

    def test_function_page_shows_availability_states(self, client):
        event = make_event()
        plenty = make_ticket_type(event, capacity=50)
        low = make_ticket_type(event, capacity=12)
        gone = make_ticket_type(event, capacity=2)
        hold(low, 5, buyer="a")
        hold(gone, 2, buyer="b")
        page = client.get(event.function.get_absolute_url()).content.decode()
        assert f'id="availability-{plenty.pk}"' in page
        assert re.search(
            rf'id="availability-{plenty.pk}"[^>]*data-state="in_stock"[^>]*>50 available', page
        )
        assert re.search(
            rf'id="availability-{low.pk}"[^>]*data-state="low"[^>]*>Only 7 left!', page
        )
        assert re.search(
            rf'id="availability-{gone.pk}"[^>]*data-state="sold_out"[^>]*>SOLD OUT', page
        )
        assert re.search(rf'<button id="buy-{gone.pk}"[^>]* disabled', page)
        assert not re.search(rf'<button id="buy-{plenty.pk}"[^>]* disabled', page)

    def test_low_stock_threshold_is_per_function(self, client):
        tt = make_ticket_type(event=make_event(make_function(low_stock_threshold=30)), capacity=25)
        page = client.get(tt.event.function.get_absolute_url()).content.decode()
        assert "Only 25 left!" in page

    def test_draft_events_are_not_shown(self, client):
        function = make_function()
        make_ticket_type(make_event(function, name="Hidden Dinner", status=Event.Status.DRAFT))
        assert "Hidden Dinner" not in client.get(function.get_absolute_url()).content.decode()

    def test_cancelled_event_shows_banner_and_disables_buying(self, client):
        tt = make_ticket_type(event=make_event(status=Event.Status.CANCELLED))
        page = client.get(tt.event.function.get_absolute_url()).content.decode()
        assert f'id="event-status-{tt.event_id}"' in page
        assert 'data-status="cancelled"' in page
        assert re.search(rf'<button id="buy-{tt.pk}"[^>]* disabled', page)
        assert 'data-state="unavailable"' in page

    def test_function_page_query_count_does_not_grow_with_ticket_types(self, client):
        def queries_for_page_with(ticket_types_per_event: int) -> int:
            function = make_function()
            for _ in range(3):
                event = make_event(function)
                for _ in range(ticket_types_per_event):
                    make_ticket_type(event)
                    # Packages are read once for the page (their items prefetched).
                    make_package([(make_ticket_type(event), 1)])
            client.get(function.get_absolute_url())  # the first visit creates the session
            with CaptureQueriesContext(connection) as queries:
                assert client.get(function.get_absolute_url()).status_code == 200
            return len(queries)

        small, large = queries_for_page_with(1), queries_for_page_with(6)
        assert small == large
        assert large <= 7  # ... and the packages, with their items


class TestAvailabilityApi:
    def test_contract_shape(self, client):
        function = make_function(slug="grand-proclamation")
        event = make_event(function, slug="banquet")
        tt = make_ticket_type(event, name="Banquet seat", price="165.00", capacity=480)
        hold(tt, 2)
        body = client.get("/api/functions/grand-proclamation/availability/").json()
        assert body == {
            "function": "grand-proclamation",
            "events": [
                {
                    "id": event.pk,
                    "slug": "banquet",
                    "status": "published",
                    "ticket_types": [
                        {
                            "id": tt.pk,
                            "name": "Banquet seat",
                            "price": "165.00",
                            "capacity": 480,
                            "available": 478,
                            "reserved": 2,
                            "sold": 0,
                            "version": 1,
                            "waiting": 0,  # docs/design.md §8.9: people on its waiting list
                        }
                    ],
                }
            ],
            "packages": [],
        }

    def test_packages_are_listed_with_their_availability(self, client):
        function = make_function()
        ceremony = make_ticket_type(make_event(function), capacity=10)
        banquet = make_ticket_type(make_event(function), capacity=25)
        package = make_package([(ceremony, 1), (banquet, 2)], name="Both", price="195.00")
        hold(banquet, 7)
        body = client.get(f"/api/functions/{function.slug}/availability/").json()
        assert body["packages"] == [
            {
                "id": package.pk,
                "name": "Both",
                "price": "195.00",
                "available": 9,  # min(10 // 1, 18 // 2)
                "items": [
                    {"ticket_type": ceremony.pk, "quantity": 1},
                    {"ticket_type": banquet.pk, "quantity": 2},
                ],
            }
        ]

    def test_unknown_function_is_404(self, client):
        assert client.get("/api/functions/nope/availability/").status_code == 404
