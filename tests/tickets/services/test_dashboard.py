"""The staff dashboard's figures (tickets/services/dashboard.py): right, and at a cost that
does not grow with the number of registrations."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from presence.store import EMPTY, PresenceCounts
from tests.support import factories
from tests.support.dashboard import many_registrations
from tests.support.door import confirmed_individuals, tickets_of
from tickets.models import Hold, Registration
from tickets.services import broadcasts, checkin, dashboard

pytestmark = pytest.mark.django_db


@pytest.fixture
def banquet():
    return factories.make_ticket_type(
        factories.make_event(name="Banquet"), name="Seat", price=Decimal("110.00"), capacity=10
    )


def test_ticket_types_show_sold_held_available_and_waiting(banquet):
    factories.confirm(banquet, 3, buyer="a")
    factories.hold(banquet, 2, buyer="b")
    factories.hold(banquet, 5, buyer="c")
    factories.waiters(banquet, 2)
    figures = dashboard.figures_of(banquet.event.function)
    (line,) = figures.ticket_types
    assert (line.sold, line.held, line.available, line.waiting) == (3, 7, 0, 2)
    assert (line.event_name, line.name, line.capacity) == ("Banquet", "Seat", 10)


def test_revenue_splits_paid_from_owed_by_invoice_and_at_the_door(banquet):
    factories.confirm(banquet, 2, buyer="paid", payment_status=Registration.PaymentStatus.PAID)
    factories.confirm(banquet, 1, buyer="invoice", email="i@example.com")
    at_door = factories.confirm(banquet, 3, buyer="door", email="d@example.com")
    Registration.objects.filter(pk=at_door.pk).update(payment_method="door")
    factories.hold(banquet, 1, buyer="pending")  # held, not confirmed: no money either way
    revenue = dashboard.figures_of(banquet.event.function).revenue
    assert revenue.confirmed == Decimal("220.00")
    assert revenue.outstanding_invoice == Decimal("110.00")
    assert revenue.outstanding_door == Decimal("330.00")
    assert revenue.outstanding == Decimal("440.00")
    # Prices are GST-inclusive: a tenth of the price before tax, an eleventh of the total.
    assert (revenue.confirmed_gst, revenue.outstanding_gst) == (Decimal("20.00"), Decimal("40.00"))


def test_sales_per_minute_cover_the_last_hour_and_per_day_the_whole_sale(banquet):
    now = timezone.now()
    early = factories.confirm(banquet, 2, buyer="early")
    recent = factories.confirm(banquet, 3, buyer="recent", email="r@example.com")
    factories.confirm(banquet, 1, buyer="now", email="n@example.com")
    Registration.objects.filter(pk=early.pk).update(confirmed_at=now - datetime.timedelta(days=2))
    Registration.objects.filter(pk=recent.pk).update(
        confirmed_at=now - datetime.timedelta(minutes=5)
    )
    figures = dashboard.figures_of(banquet.event.function, now=now)
    minutes = figures.sales_per_minute
    assert len(minutes) == dashboard.SALES_WINDOW_MINUTES
    assert [seats for _, seats in minutes][-1] == 1
    assert [seats for _, seats in minutes][-6] == 3
    assert figures.sold_last_hour == 4
    assert sum(seats for _, seats in figures.sales_per_day) == 6
    assert len(figures.sales_per_day) == 2


def test_the_sales_charts_say_in_words_what_they_draw(banquet):
    factories.confirm(banquet, 3, buyer="a")
    charts = dashboard.sales_charts(dashboard.figures_of(banquet.event.function))
    assert 'id="dash-sales-chart"' in charts["per_minute"]
    assert "3 seats sold in the last hour; the busiest minute sold 3." in charts["per_minute"]
    assert "3 seats sold over 1 days with sales." in charts["per_day"]


def test_presence_steps_are_labelled_in_the_wizards_order():
    steps = dashboard.presence_steps(PresenceCounts.of(3, {"payment": 1, "ticket_selection": 2}))
    labels = dict(Registration.Step.choices)
    assert [label for label, _ in steps] == [labels[step] for step in Registration.STEP_ORDER]
    assert (dict(steps)["Tickets"], dict(steps)["Payment"]) == (2, 1)
    assert {n for _, n in dashboard.presence_steps(EMPTY)} == {0}


def test_sales_leave_out_seats_given_back(banquet):
    registration = factories.confirm(banquet, 2)
    Hold.objects.filter(registration=registration).update(status=Hold.Status.EXPIRED)
    assert dashboard.figures_of(banquet.event.function).sold_last_hour == 0


def test_check_ins_per_event_and_door_and_the_last_broadcasts(banquet):
    registration = confirmed_individuals(banquet, "Alan", "Bob", "Carl")
    first, second, _ = tickets_of(registration)
    checkin.check_in(banquet.event, code=first.code, door="North")
    checkin.check_in(banquet.event, code=second.code, door="South")
    staff = factories.staff_user("organiser")
    for n in range(dashboard.RECENT_BROADCASTS + 1):
        broadcasts.send_message(banquet.event.function, f"Message {n}", sent_by=staff)
    figures = dashboard.figures_of(banquet.event.function)
    (door,) = figures.check_ins
    assert (door.event_name, door.checked_in, door.expected) == ("Banquet", 2, 3)
    assert door.by_door == (("North", 1), ("South", 1))
    assert figures.broadcasts[0].text == f"Message {dashboard.RECENT_BROADCASTS}"
    assert len(figures.broadcasts) == dashboard.RECENT_BROADCASTS


def test_the_funnel_comes_with_the_figures(banquet):
    factories.confirm(banquet, 1, buyer="a")
    factories.hold(banquet, 1, buyer="b")
    funnel = dashboard.figures_of(banquet.event.function).funnel
    assert (funnel.started, funnel.confirmed, funnel.in_progress) == (2, 1, 1)


def test_a_read_costs_the_same_queries_at_10_and_at_10000_registrations():
    counted = {}
    for count in (10, 10_000):
        ticket_type = factories.make_ticket_type(capacity=20_000)
        many_registrations(ticket_type, count)
        function = ticket_type.event.function
        with CaptureQueriesContext(connection) as queries:
            figures = dashboard.figures_of(function)
        assert sum(seats for _, seats in figures.sales_per_day) == count
        counted[count] = len(queries)
    assert counted == {10: dashboard.QUERIES, 10_000: dashboard.QUERIES}
