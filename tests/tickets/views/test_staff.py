"""The door and kitchen pages and the check-in endpoint (tickets/views/staff.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.support.door import confirmed_individuals, set_needs, tickets_of
from tests.support.factories import confirm, make_event, make_ticket_type, staff_user
from tickets.models import CheckIn

pytestmark = pytest.mark.django_db


@pytest.fixture
def banquet():
    return make_ticket_type(make_event(name="Grand Banquet"), name="Banquet seat", capacity=50)


def door_url(ticket_type) -> str:
    return reverse("tickets:door", args=[ticket_type.event_id])


def test_the_door_group_has_only_check_in():
    door = Group.objects.get(name="Door")
    assert [p.codename for p in door.permissions.all()] == ["check_in"]
    assert [p.codename for p in Group.objects.get(name="Kitchen").permissions.all()] == [
        "view_kitchen"
    ]


def test_check_in_answers_the_contract(client, banquet):
    ticket = tickets_of(confirmed_individuals(banquet, "Alan"))[0]
    user = staff_user("door")
    user.groups.add(Group.objects.get(name="Door"))
    client.force_login(user)

    response = client.post(door_url(banquet), {"code": ticket.code, "door": "North"})

    assert response.status_code == 200
    body = response.json()
    assert body["result"] == "ok"
    assert body["attendee"] == {"name": "Alan Reid", "ticket_type": "Banquet seat"}
    assert body["door"] == "North"
    assert body["checked_in_at"]
    again = client.post(door_url(banquet), {"code": ticket.code, "door": "South"}).json()
    assert again["result"] == "already"
    assert again["door"] == "North"
    assert client.post(door_url(banquet), {"code": "nope"}).json()["result"] == "unknown"


def test_without_permission_403_and_nothing_changes(client, banquet):
    ticket = tickets_of(confirmed_individuals(banquet, "Alan"))[0]
    assert client.post(door_url(banquet), {"code": ticket.code}).status_code == 403
    assert client.get(door_url(banquet)).status_code == 302  # to the sign-in page
    client.force_login(staff_user("someone", "view_registration"))
    assert client.post(door_url(banquet), {"code": ticket.code}).status_code == 403
    assert client.get(door_url(banquet)).status_code == 403
    assert not CheckIn.objects.exists()


def test_bad_input_is_400_with_a_clear_error(client, banquet):
    client.force_login(staff_user("door", "check_in"))
    response = client.post(door_url(banquet), {})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_scan"
    assert "code" in response.json()["error"]
    response = client.post(door_url(banquet), {"registration": "not-a-uuid"})
    assert response.status_code == 400


def test_door_page_shows_the_count(client, banquet):
    confirmed_individuals(banquet, "Alan", "Bob")
    client.force_login(staff_user("door", "check_in"))
    response = client.get(door_url(banquet), {"door": "North"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="checkin-count-{banquet.event_id}"' in html
    assert 'data-checked-in="0" data-expected="2"' in html


def test_door_payment_needs_mark_paid(client, banquet):
    registration = confirmed_individuals(banquet, "Alan", payment_method="door")
    url = reverse("tickets:door-payment", args=[banquet.event_id])
    client.force_login(staff_user("door", "check_in"))
    assert client.post(url, {"registration": registration.pk}).status_code == 403
    client.force_login(staff_user("cashier", "check_in", "mark_paid"))
    response = client.post(url, {"registration": registration.pk, "door": "North"})
    assert response.json()["payment_status"] == "paid"
    assert client.post(url, {"registration": registration.pk}).status_code == 409


def test_search_finds_by_name(client, banquet):
    confirmed_individuals(banquet, "Alan", lodge_name="Lodge Antiquity")
    client.force_login(staff_user("door", "check_in"))
    url = reverse("tickets:door-search", args=[banquet.event_id])
    html = client.get(url, {"q": "Reid"}).content.decode()
    assert 'data-count="1"' in html
    assert "Alan Reid" in html


def test_kitchen_page_shows_counts_and_no_names(client, banquet):
    registration = confirmed_individuals(banquet, "Alan", "Zebedee", last_name="Quartermaine")
    set_needs(registration, 1, ["vegetarian", "gluten_free"], special="Wheelchair access")
    client.force_login(staff_user("chef", "view_kitchen"))

    html = client.get(reverse("tickets:kitchen", args=[banquet.event_id])).content.decode()

    assert 'id="dietary-vegetarian" data-expected="1" data-arrived="0"' in html
    assert 'id="dietary-vegan" data-expected="0"' in html
    assert "Wheelchair access" in html
    assert "Zebedee" not in html
    assert "Quartermaine" not in html
    assert "Alan" not in html
    assert "Who?" not in html  # only for staff who may see names
    names_url = reverse("tickets:kitchen-names", args=[banquet.event_id, "vegetarian"])
    assert client.get(names_url).status_code == 403


def test_kitchen_names_on_request_for_those_allowed(client, banquet):
    registration = confirmed_individuals(banquet, "Alan", "Zebedee")
    set_needs(registration, 2, ["vegan"])
    client.force_login(staff_user("head-chef", "view_kitchen", "see_dietary_names"))
    page = client.get(reverse("tickets:kitchen", args=[banquet.event_id])).content.decode()
    assert "Who?" in page
    assert "Zebedee" not in page
    names = client.get(reverse("tickets:kitchen-names", args=[banquet.event_id, "vegan"]))
    assert "Zebedee Reid" in names.content.decode()
    assert "Alan" not in names.content.decode()
    bad = reverse("tickets:kitchen-names", args=[banquet.event_id, "bacon"])
    assert client.get(bad).status_code == 400


def test_staff_note_needs_send_broadcast_and_is_refused_whole(client, banquet):
    url = reverse("tickets:staff-note", args=[banquet.event_id])
    client.force_login(staff_user("door", "check_in"))
    assert client.post(url, {"text": "Hi"}).status_code == 403
    client.force_login(staff_user("organiser", "send_broadcast"))
    assert client.post(url, {"text": "x" * 281}).json()["code"] == "invalid_message"
    assert client.post(url, {"text": "Doors open in 5 minutes"}).status_code == 201
    client.force_login(staff_user("door2", "check_in"))
    assert "Doors open in 5 minutes" in client.get(door_url(banquet)).content.decode()


def test_a_scan_costs_the_same_queries_for_one_seat_or_a_table(client, banquet):
    one = confirmed_individuals(banquet, "Alan")
    table = confirm(banquet, 10, buyer="lodge")
    client.force_login(staff_user("door", "check_in"))
    client.post(door_url(banquet), {"code": "warm-up"})  # the session's first save done
    with CaptureQueriesContext(connection) as single:
        client.post(door_url(banquet), {"registration": one.pk})
    with CaptureQueriesContext(connection) as ten:
        client.post(door_url(banquet), {"registration": table.pk})
    assert len(ten) == len(single)  # one INSERT for the ten seats, one audit entry
    assert CheckIn.objects.count() == 11


def test_door_page_without_the_decoder_says_so_and_scans_by_typing(client, banquet, monkeypatch):
    from tickets.views import staff

    client.force_login(staff_user("door", "check_in"))
    if staff.camera_decoder():  # npm ci ran on this machine
        with_decoder = client.get(door_url(banquet), {"door": "North"}).content.decode()
        assert "vendor/zxing/index.min.js" in with_decoder
    monkeypatch.setattr(staff, "camera_decoder", lambda: None)  # a machine without npm
    html = client.get(door_url(banquet), {"door": "North"}).content.decode()
    assert "zxing" not in html
    assert "Camera scanning is not installed on this server" in html
    assert 'id="scan-code"' in html
