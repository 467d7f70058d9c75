"""The staff dashboard page and its broadcast form (tickets/views/dashboard.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from tests.support.factories import confirm, hold, make_event, make_ticket_type, staff_user
from tests.support.html import elements_by_id
from tickets.models import AuditEntry, Broadcast, Registration

pytestmark = pytest.mark.django_db


@pytest.fixture
def banquet():
    return make_ticket_type(make_event(name="Grand Banquet"), name="Banquet seat", capacity=50)


def page_url(ticket_type) -> str:
    return reverse("tickets:dashboard", args=[ticket_type.event.function.slug])


def broadcast_url(ticket_type) -> str:
    return reverse("tickets:dashboard-broadcast", args=[ticket_type.event.function.slug])


def signed_in(client, *codenames: str, group: str | None = None, name: str = "organiser"):
    user = staff_user(name, *codenames)
    if group:
        user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return user


def test_the_dashboard_group_holds_only_view_dashboard():
    group = Group.objects.get(name="Dashboard")
    assert [p.codename for p in group.permissions.all()] == ["view_dashboard"]


def test_the_page_shows_the_contracts_elements(client, banquet):
    confirm(banquet, 3, payment_status=Registration.PaymentStatus.PAID)
    hold(banquet, 2, buyer="other")
    signed_in(client, group="Dashboard")
    response = client.get(page_url(banquet))
    assert response.status_code == 200
    page = elements_by_id(response.content.decode())
    line = page[f"dash-ticket-type-{banquet.pk}"].attrs
    assert (line["data-sold"], line["data-held"], line["data-available"]) == ("3", "2", "45")
    assert line["data-waiting"] == "0"
    assert page["dash-revenue"].attrs["data-confirmed"] == "300.00"
    assert page["dash-revenue"].attrs["data-outstanding"] == "0.00"
    assert "data-step-ticket_selection" in page["dash-presence"].attrs
    chart = page["dash-sales-chart"]
    assert chart.tag == "svg"
    assert chart.attrs["role"] == "img"
    assert b'ws-connect="/ws/staff/functions/' in response.content
    assert b"dash-broadcast-form" not in response.content  # no send_broadcast


def test_superusers_pass_and_others_do_not(client, banquet):
    assert client.get(page_url(banquet)).status_code == 302  # to the login page
    signed_in(client, "check_in", "view_kitchen")
    assert client.get(page_url(banquet)).status_code == 403
    client.logout()
    user = staff_user("root")
    user.is_superuser = True
    user.save()
    client.force_login(user)
    assert client.get(page_url(banquet)).status_code == 200
    assert client.get(reverse("tickets:dashboard", args=["no-such"])).status_code == 404


def test_a_broadcast_sent_from_the_dashboard_is_recorded_and_audited(client, banquet):
    signed_in(client, "view_dashboard", "send_broadcast")
    assert b"dash-broadcast-form" in client.get(page_url(banquet)).content
    response = client.post(
        broadcast_url(banquet), {"text": "  Doors open at six  "}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 201
    assert elements_by_id(response.content.decode())["dash-broadcast-result"].attrs[
        "data-result"
    ] == "sent"  # fmt: skip
    broadcast = Broadcast.objects.get()
    assert (broadcast.kind, broadcast.text) == (Broadcast.Kind.MESSAGE, "Doors open at six")
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SEND_MESSAGE).count() == 1
    # Without htmx: back to the dashboard.
    plain = client.post(broadcast_url(banquet), {"text": "Bar opens at seven"})
    assert (plain.status_code, plain["Location"]) == (302, page_url(banquet))


def test_an_empty_or_too_long_message_is_refused_and_nothing_is_sent(client, banquet):
    signed_in(client, "view_dashboard", "send_broadcast")
    empty = client.post(broadcast_url(banquet), {"text": "   "}, headers={"HX-Request": "true"})
    assert empty.status_code == 400
    assert b"Write the message" in empty.content
    long = client.post(broadcast_url(banquet), {"text": "x" * (Broadcast.MAX_MESSAGE_LENGTH + 1)})
    assert long.status_code == 400
    assert b"Keep the message" in long.content
    assert not Broadcast.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.SEND_MESSAGE).exists()


def test_sending_needs_its_own_permission(client, banquet):
    signed_in(client, "view_dashboard")
    response = client.post(broadcast_url(banquet), {"text": "Hello"}, headers={"HX-Request": "1"})
    assert response.status_code == 403
    assert not Broadcast.objects.exists()
    client.logout()
    signed_in(client, "send_broadcast", name="messenger")  # may send, but not see the dashboard
    assert client.post(broadcast_url(banquet), {"text": "Hello"}).status_code == 403
    assert not Broadcast.objects.exists()
