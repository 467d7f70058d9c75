"""Expired registrations and the funnel staff read them from."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.support import factories
from tickets.models import Hold, Registration
from tickets.services import holds
from tickets.services import registrations as wizard
from tickets.services.funnel import funnel_of

pytestmark = pytest.mark.django_db


def expire(registration: Registration) -> None:
    past = timezone.now() - datetime.timedelta(seconds=1)
    Registration.objects.filter(pk=registration.pk).update(expires_at=past)
    registration.holds.update(expires_at=past)


class TestExpiry:
    def test_expired_registration_is_expired_at_the_step_it_reached(self):
        tt = factories.make_ticket_type(capacity=10)
        registration = factories.hold(tt, 2).registration
        wizard.continue_to_attendee_details(registration.pk)
        expire(registration)
        sweep = holds.release_expired_holds()
        assert (sweep.registrations, sweep.holds) == (1, 1)
        registration.refresh_from_db()
        assert registration.status == Registration.Status.EXPIRED
        assert registration.step == Registration.Step.ATTENDEE_DETAILS
        assert tt.__class__.objects.get(pk=tt.pk).reserved == 0

    def test_idle_registration_with_nothing_held_is_expired_too(self):
        tt = factories.make_ticket_type()
        line = factories.hold(tt, 1)
        holds.release_hold(line.registration_id, line.pk)
        expire(line.registration)
        assert holds.release_expired_holds() == holds.Sweep(registrations=1, holds=0)
        assert Registration.objects.get().status == Registration.Status.EXPIRED

    def test_an_expired_registration_can_still_confirm_if_seats_remain(self):
        tt = factories.make_ticket_type(capacity=5)
        registration = factories.hold(tt, 1).registration
        factories.reach_payment(registration, [factories.attendee("A", tt)])
        expire(registration)
        holds.release_expired_holds()
        confirmed = wizard.confirm_registration(
            registration.pk, payment_method="invoice", payment_status="pending"
        )
        assert confirmed.status == Registration.Status.CONFIRMED
        assert confirmed.holds.get().status == Hold.Status.CONFIRMED

    def test_visiting_an_expired_registration_expires_it_at_once(self, client):
        tt = factories.make_ticket_type()
        client.post(
            f"{tt.event.function.get_absolute_url()}hold/", {"ticket_type": tt.pk, "quantity": 1}
        )
        registration = Registration.objects.get()
        expire(registration)
        page = client.get(reverse("tickets:registration-tickets", kwargs={"pk": registration.pk}))
        assert "Your hold has expired" in page.content.decode()
        registration.refresh_from_db()
        assert registration.status == Registration.Status.EXPIRED

    def test_furthest_step_survives_going_back(self):
        tt = factories.make_ticket_type()
        registration = factories.hold(tt).registration
        factories.reach_payment(registration, [factories.attendee("A", tt)])
        factories.hold(tt)  # changing tickets sends the buyer back to the first step
        registration.refresh_from_db()
        assert registration.step == Registration.Step.TICKET_SELECTION
        assert registration.furthest_step == Registration.Step.PAYMENT


def registration_at(function, step, status=Registration.Status.PENDING, days_ago=0):
    registration = Registration.objects.create(
        function=function,
        buyer_key=f"b-{Registration.objects.count()}",
        expires_at=timezone.now(),
        step=step,
        furthest_step=step,
        status=status,
    )
    created = timezone.now() - datetime.timedelta(days=days_ago)
    Registration.objects.filter(pk=registration.pk).update(created_at=created)
    return registration


@pytest.fixture
def busy_function(db):
    function = factories.make_function()
    Step, Status = Registration.Step, Registration.Status
    registration_at(function, Step.TICKET_SELECTION, Status.EXPIRED)
    registration_at(function, Step.TICKET_SELECTION, Status.EXPIRED)
    registration_at(function, Step.ATTENDEE_DETAILS, Status.EXPIRED)
    registration_at(function, Step.PAYMENT, Status.EXPIRED, days_ago=10)
    registration_at(function, Step.REVIEW)  # still going
    registration_at(function, Step.CONFIRMATION, Status.CONFIRMED)
    registration_at(function, Step.CONFIRMATION, Status.CONFIRMED, days_ago=10)
    registration_at(function, Step.ATTENDEE_DETAILS, Status.CANCELLED)
    registration_at(
        factories.make_function(), Step.CONFIRMATION, Status.CONFIRMED
    )  # another function
    return function


class TestFunnel:
    def test_reached_and_expired_per_step(self, busy_function):
        funnel = funnel_of(busy_function)
        reached = {s.step: s.reached for s in funnel.steps}
        expired = {s.step: s.expired_here for s in funnel.steps}
        assert reached == {
            "ticket_selection": 8,
            "attendee_details": 6,
            "review": 4,
            "payment": 3,
            "confirmation": 2,
        }
        assert expired == {
            "ticket_selection": 2,
            "attendee_details": 1,
            "review": 0,
            "payment": 1,
            "confirmation": 0,
        }
        assert (funnel.confirmed, funnel.expired, funnel.cancelled, funnel.in_progress) == (
            2,
            4,
            1,
            1,
        )
        assert funnel.started == 8

    def test_date_range(self, busy_function):
        week_ago = (timezone.now() - datetime.timedelta(days=7)).date()
        recent = funnel_of(busy_function, since=week_ago)
        assert recent.started == 6
        older = funnel_of(busy_function, until=week_ago)
        assert older.started == 2
        assert older.confirmed == 1

    def test_admin_funnel_page(self, admin_client, busy_function):
        url = reverse("admin:tickets_function_funnel", args=[busy_function.pk])
        page = admin_client.get(url).content.decode()
        assert 'id="funnel-table"' in page
        assert 'id="funnel-chart"' in page
        assert 'data-reached="8"' in page
        filtered = admin_client.get(url, {"since": timezone.now().date().isoformat()})
        assert filtered.context["funnel"].started == 6

    def test_admin_funnel_rejects_a_backwards_range(self, admin_client, busy_function):
        url = reverse("admin:tickets_function_funnel", args=[busy_function.pk])
        response = admin_client.get(url, {"since": "2030-01-02", "until": "2030-01-01"})
        assert response.status_code == 200
        assert "after its end" in response.content.decode()
        assert response.context["funnel"].started == 8  # unfiltered, not silently empty

    def test_admin_funnel_rejects_garbage_dates(self, admin_client, busy_function):
        url = reverse("admin:tickets_function_funnel", args=[busy_function.pk])
        response = admin_client.get(url, {"since": "yesterday-ish"})
        assert response.status_code == 200
        assert "Enter a valid date" in response.content.decode()

    def test_admin_funnel_of_an_unknown_function_is_404(self, admin_client):
        url = reverse("admin:tickets_function_funnel", args=[999999])
        assert admin_client.get(url).status_code == 404

    def test_funnel_is_linked_from_the_function_list(self, admin_client, busy_function):
        page = admin_client.get(reverse("admin:tickets_function_changelist")).content.decode()
        assert reverse("admin:tickets_function_funnel", args=[busy_function.pk]) in page

    def test_funnel_counts_a_real_journey(self):
        event = factories.make_event()
        tt = factories.make_ticket_type(event)
        registration = factories.hold(tt).registration
        factories.reach_payment(registration, [factories.attendee("A", tt)])
        wizard.confirm_registration(
            registration.pk, payment_method="door", payment_status="pending"
        )
        funnel = funnel_of(event.function)
        assert [s.reached for s in funnel.steps] == [1, 1, 1, 1, 1]
        assert funnel.confirmed == 1
