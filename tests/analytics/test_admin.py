"""Staff read interactions in the admin: filters and a per-day chart; nobody edits them."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.models import Interaction
from analytics.services.reports import daily_counts
from tests.support.factories import make_function, make_interaction

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:analytics_interaction_changelist")


def days_ago(n: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=n)


def chart_counts(html: str) -> dict[str, int]:
    return {
        day: int(count)
        for day, count in re.findall(r'data-day="([\d-]+)" data-count="(\d+)"', html)
    }


def test_the_list_shows_a_chart_of_the_last_30_days(admin_client):
    make_interaction(occurred_at=days_ago(0))
    make_interaction(occurred_at=days_ago(0))
    make_interaction(occurred_at=days_ago(2))
    make_interaction(occurred_at=days_ago(45))  # outside the chart

    html = admin_client.get(CHANGELIST).content.decode()

    counts = chart_counts(html)
    assert len(counts) == 30
    assert counts[timezone.localdate().isoformat()] == 2
    assert counts[(timezone.localdate() - datetime.timedelta(days=2)).isoformat()] == 1
    assert sum(counts.values()) == 3
    assert 'id="interaction-chart" data-total="3"' in html


def test_filters_narrow_the_list_and_the_chart(admin_client):
    banquet = make_function(name="Banquet night")
    make_interaction(action="ticket.select", function=banquet)
    make_interaction(action="ticket.select")
    make_interaction(action="page.view", function=banquet)
    make_interaction(action="page.view", occurred_at=days_ago(40))

    html = admin_client.get(CHANGELIST).content.decode()
    assert "?action=ticket.select" in html  # actions seen lately are offered
    assert "?action=page.view" in html
    assert f"function__id__exact={banquet.pk}" in html

    by_action = admin_client.get(CHANGELIST, {"action": "ticket.select"}).content.decode()
    assert sum(chart_counts(by_action).values()) == 2
    both = admin_client.get(
        CHANGELIST, {"action": "ticket.select", "function__id__exact": banquet.pk}
    ).content.decode()
    assert sum(chart_counts(both).values()) == 1
    assert "(filtered)" in both
    midnight = timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time()))
    today = admin_client.get(  # the date filter's "Today"
        CHANGELIST,
        {
            "occurred_at__gte": str(midnight),
            "occurred_at__lt": str(midnight + datetime.timedelta(days=1)),
        },
    )
    assert today.context["cl"].result_count == 3


def test_an_empty_table_draws_an_empty_chart(admin_client):
    html = admin_client.get(CHANGELIST).content.decode()
    assert set(chart_counts(html).values()) == {0}


def test_interactions_are_read_only(admin_client):
    interaction = make_interaction()
    assert admin_client.get(reverse("admin:analytics_interaction_add")).status_code == 403
    detail = admin_client.get(reverse("admin:analytics_interaction_change", args=[interaction.pk]))
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    delete = reverse("admin:analytics_interaction_delete", args=[interaction.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Interaction.objects.count() == 1


def test_a_bad_filter_still_answers(admin_client):
    response = admin_client.get(CHANGELIST, {"occurred_at__gte": "not-a-date"})
    assert response.status_code in {200, 302}


def test_daily_counts_fill_empty_days_with_zero():
    today = timezone.localdate()
    make_interaction(occurred_at=days_ago(1))
    counts = daily_counts(Interaction.objects.all(), days=3, today=today)
    assert [c.day for c in counts] == [today - datetime.timedelta(days=n) for n in (2, 1, 0)]
    assert [c.count for c in counts] == [0, 1, 0]
