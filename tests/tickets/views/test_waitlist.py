"""The waiting list over HTTP: join (303 to the entry; 400/409 with nothing changed), the
entry's page, leaving in one click, the mail link, the badge and the JSON."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.support.factories import hold, make_ticket_type, refreshed
from tests.support.html import elements_by_id
from tests.support.http import body_of
from tickets.models import WaitlistEntry
from tickets.services import holds, waitlist

pytestmark = pytest.mark.django_db


def join_url(ticket_type) -> str:
    return reverse("tickets:waitlist-create", kwargs={"slug": ticket_type.event.function.slug})


def post_join(client, for_type, **fields):
    data = {"ticket_type": for_type.pk, "quantity": 1, "name": "Alan Reid"}
    data |= {"email": "alan@example.com"} | fields
    return client.post(join_url(for_type), data)


@pytest.fixture
def sold_out():
    ticket_type = make_ticket_type(capacity=1, max_per_order=4)
    hold(ticket_type, 1, buyer="holder")
    return ticket_type


def test_joining_answers_303_to_the_entry_page(client, sold_out):
    response = post_join(client, sold_out, quantity=2)
    entry = WaitlistEntry.objects.get()
    assert response.status_code == 303
    assert response["Location"] == f"/waitlist/{entry.uuid}/"
    page = elements_by_id(body_of(client.get(response["Location"]), 200))
    element = page["waitlist-entry"].attrs
    assert (element["data-status"], element["data-position"], element["data-waiting"]) == (
        "waiting",
        "1",
        "1",
    )


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"quantity": 0}, 400, "invalid_waitlist_request"),
        ({"quantity": 5}, 400, "invalid_waitlist_request"),  # above the per-order limit
        ({"quantity": ""}, 400, "invalid_waitlist_request"),
        ({"email": "alan@"}, 400, "invalid_waitlist_request"),
        ({"name": ""}, 400, "invalid_waitlist_request"),
        ({"ticket_type": "999999"}, 400, "unknown_ticket_type"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_changes_nothing(
    client, sold_out, fields, status, code
):
    response = post_join(client, sold_out, **fields)
    page = elements_by_id(body_of(response, status))
    assert page["waitlist-refusal"].attrs["data-code"] == code
    assert not WaitlistEntry.objects.exists()
    assert refreshed(sold_out).waiting == 0


def test_a_list_with_seats_is_refused_409(client):
    ticket_type = make_ticket_type(capacity=5)
    response = post_join(client, ticket_type, quantity=2)
    page = elements_by_id(body_of(response, 409))
    assert page["waitlist-refusal"].attrs["data-code"] == "seats_available"
    assert "buy them now" in page["waitlist-refusal"].text
    assert not WaitlistEntry.objects.exists()


def test_a_closed_list_is_refused_409(client, sold_out, admin_user):
    waitlist.set_list_closed(sold_out.pk, True, changed_by=admin_user)
    page = elements_by_id(body_of(post_join(client, sold_out), 409))
    assert page["waitlist-refusal"].attrs["data-code"] == "waitlist_closed"
    assert not WaitlistEntry.objects.exists()


def test_the_same_email_twice_is_refused_409(client, sold_out):
    post_join(client, sold_out)
    page = elements_by_id(body_of(post_join(client, sold_out, email="ALAN@example.com"), 409))
    assert page["waitlist-refusal"].attrs["data-code"] == "already_waiting"
    assert WaitlistEntry.objects.count() == 1


def test_someone_elses_entry_does_not_exist(client, sold_out):
    post_join(client, sold_out)
    entry = WaitlistEntry.objects.get()
    client.cookies.clear()
    assert client.get(entry.get_absolute_url()).status_code == 404
    assert client.post(reverse("tickets:waitlist-leave", args=[entry.uuid])).status_code == 404


def test_leaving_is_one_click(client, sold_out):
    post_join(client, sold_out)
    entry = WaitlistEntry.objects.get()
    response = client.post(reverse("tickets:waitlist-leave", args=[entry.uuid]))
    assert response.status_code == 303
    page = elements_by_id(body_of(client.get(entry.get_absolute_url()), 200))
    assert page["waitlist-entry"].attrs["data-status"] == "removed"
    assert refreshed(sold_out).waiting == 0


def test_the_mail_link_opens_the_entry_in_another_browser(client, sold_out):
    post_join(client, sold_out)
    entry = WaitlistEntry.objects.get()
    client.cookies.clear()
    link = reverse("tickets:waitlist-manage", args=[entry.uuid, waitlist.entry_token(entry)])
    assert client.get(link).status_code == 303
    assert client.get(entry.get_absolute_url()).status_code == 200
    bad = reverse("tickets:waitlist-manage", args=[entry.uuid, "0" * 40])
    assert client.get(bad).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_mail_link_claims_an_open_offer_for_this_browser(client):
    ticket_type = make_ticket_type(capacity=1)
    holder = hold(ticket_type, 1, buyer="holder").registration
    post_join(client, ticket_type)
    entry = WaitlistEntry.objects.get()
    holds.cancel_registration(holder.pk)
    entry.refresh_from_db()
    client.cookies.clear()
    response = client.get(
        reverse("tickets:waitlist-manage", args=[entry.uuid, waitlist.entry_token(entry)])
    )
    assert response.status_code == 303
    assert response["Location"] == entry.offered_registration.get_absolute_url()
    assert client.get(response["Location"], follow=True).status_code == 200


def test_the_badge_and_the_json_say_how_many_wait(client, sold_out):
    post_join(client, sold_out)
    page = elements_by_id(body_of(client.get(sold_out.event.function.get_absolute_url()), 200))
    badge = page[f"availability-{sold_out.pk}"]
    assert badge.attrs["data-state"] == "sold_out"
    assert badge.attrs["data-waiting"] == "1"
    assert "1 waiting" in badge.text
    api = client.get(
        reverse("tickets:availability-api", kwargs={"slug": sold_out.event.function.slug})
    ).json()
    assert api["events"][0]["ticket_types"][0]["waiting"] == 1
