"""Staff edit events and ticket types in the admin (tickets/admin/events.py); every
admin list renders."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.support.factories import (
    hold,
    make_event,
    make_ticket_type,
    refreshed,
)

pytestmark = pytest.mark.django_db


def ticket_type_form(tt, **changes) -> dict:
    data = {
        "event": tt.event_id,
        "name": tt.name,
        "description": tt.description,
        "price": str(tt.price),
        "capacity": tt.capacity,
        "sales_start_0": "",
        "sales_start_1": "",
        "sales_end_0": "",
        "sales_end_1": "",
        "min_per_order": tt.min_per_order,
        "max_per_order": tt.max_per_order,
        "max_tables_per_order": tt.max_tables_per_order,
        "position": tt.position,
    }
    return {**data, **changes}


class TestCapacityEdits:
    @staticmethod
    def edit_capacity(admin_client, capacity: int):
        """A ticket type of 10 with 4 held, its capacity edited on its admin page."""
        tt = make_ticket_type(capacity=10)
        hold(tt, 4)
        url = reverse("admin:tickets_tickettype_change", args=[tt.pk])
        return tt, admin_client.post(url, ticket_type_form(tt, capacity=capacity))

    def test_capacity_can_be_raised(self, admin_client):
        tt, response = self.edit_capacity(admin_client, 20)
        assert response.status_code == 302
        tt.refresh_from_db()
        assert (tt.capacity, tt.reserved, tt.version) == (20, 4, 2)

    def test_capacity_below_reserved_plus_sold_is_refused_with_a_message(self, admin_client):
        tt, response = self.edit_capacity(admin_client, 3)
        assert response.status_code == 200
        assert "cannot go below 4" in response.content.decode()
        assert refreshed(tt).capacity == 10

    def test_capacity_edit_in_the_event_inline_is_guarded_too(self, admin_client):
        event = make_event()
        tt = make_ticket_type(event, capacity=10)
        hold(tt, 6)
        url = reverse("admin:tickets_event_change", args=[event.pk])
        page = admin_client.get(url)
        assert page.status_code == 200
        data = {
            "function": event.function_id,
            "slug": event.slug,
            "name": event.name,
            "description": "",
            "venue": "",
            "starts_at_0": event.starts_at.strftime("%d/%m/%Y"),
            "starts_at_1": event.starts_at.strftime("%H:%M:%S"),
            "ends_at_0": event.ends_at.strftime("%d/%m/%Y"),
            "ends_at_1": event.ends_at.strftime("%H:%M:%S"),
            "status": event.status,
            "position": 0,
            "ticket_types-TOTAL_FORMS": "1",
            "ticket_types-INITIAL_FORMS": "1",
            "ticket_types-MIN_NUM_FORMS": "0",
            "ticket_types-MAX_NUM_FORMS": "1000",
            "ticket_types-0-id": tt.pk,
            "ticket_types-0-event": event.pk,
            **{
                f"ticket_types-0-{key}": value
                for key, value in ticket_type_form(tt, capacity=5).items()
                if key != "event" and not key.startswith("sales_")
            },
        }
        response = admin_client.post(url, data)
        assert response.status_code == 200
        assert "cannot go below 6" in response.content.decode()
        assert refreshed(tt).capacity == 10


@pytest.mark.parametrize(
    "name",
    ["function", "event", "tickettype", "registration", "ticket"],
)
def test_admin_lists_render(admin_client, name):
    make_ticket_type()
    assert admin_client.get(reverse(f"admin:tickets_{name}_changelist")).status_code == 200
