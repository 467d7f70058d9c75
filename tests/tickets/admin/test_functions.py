"""The organiser's details on a function (printed on confirmations and tax invoices) are
staff settings in the Function admin."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.support.factories import make_function

pytestmark = pytest.mark.django_db


def function_form(function, **changes) -> dict:
    local = {name: timezone.localtime(getattr(function, name)) for name in ("starts_at", "ends_at")}
    data = {
        "name": function.name,
        "slug": function.slug,
        "description": function.description,
        "venue": function.venue,
        "starts_at_0": local["starts_at"].strftime("%Y-%m-%d"),
        "starts_at_1": local["starts_at"].strftime("%H:%M:%S"),
        "ends_at_0": local["ends_at"].strftime("%Y-%m-%d"),
        "ends_at_1": local["ends_at"].strftime("%H:%M:%S"),
        "published": "on",
        "hold_minutes": function.hold_minutes,
        "low_stock_threshold": function.low_stock_threshold,
        "unpaid_seat_limit": function.unpaid_seat_limit,
        "unpaid_days": function.unpaid_days,
        "organiser_name": function.organiser_name,
        "organiser_abn": function.organiser_abn,
        "names_due_at_0": "",
        "names_due_at_1": "",
        "waitlist_offer_minutes": function.waitlist_offer_minutes,
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
        "packages-TOTAL_FORMS": "0",
        "packages-INITIAL_FORMS": "0",
    }
    return {**data, **changes}


def test_staff_set_the_organisers_name_abn_and_when_names_are_due(admin_client) -> None:
    function = make_function()
    url = reverse("admin:tickets_function_change", args=[function.pk])
    page = admin_client.get(url).content.decode()
    for field in ("id_organiser_name", "id_organiser_abn", "id_names_due_at_0"):
        assert field in page

    response = admin_client.post(
        url,
        function_form(
            function,
            organiser_name="United Grand Lodge of NSW & ACT",
            organiser_abn="93 000 000 001",
            names_due_at_0="2027-03-01",
            names_due_at_1="17:00:00",
        ),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    function.refresh_from_db()
    assert function.organiser_name == "United Grand Lodge of NSW & ACT"
    assert function.organiser_abn == "93 000 000 001"
    assert timezone.localtime(function.names_due_at).strftime("%Y-%m-%d %H:%M") == (
        "2027-03-01 17:00"
    )


def test_the_function_page_and_list_link_the_live_dashboard(admin_client) -> None:
    function = make_function()
    dashboard = reverse("tickets:dashboard", args=[function.slug])
    change = admin_client.get(reverse("admin:tickets_function_change", args=[function.pk]))
    assert f'href="{dashboard}"' in change.content.decode()
    listing = admin_client.get(reverse("admin:tickets_function_changelist"))
    assert f'href="{dashboard}"' in listing.content.decode()
