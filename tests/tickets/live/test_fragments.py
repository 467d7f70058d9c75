"""Live fragments render from values read beforehand: no kind of fragment queries.

A hub renders each fragment once for every socket of its process, on the event loop; a
query there would block the loop (or fail: async code may not touch the ORM). So every
kind is rendered here under zero queries, from what the consumer's snapshot and
tickets.services.broadcasts.news_of read.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from presence.store import PresenceCounts
from tests.support import factories
from tests.support.html import elements_by_id, elements_with
from tickets.live import fragments
from tickets.models import Broadcast
from tickets.services import broadcasts, packages
from tickets.services import registrations as wizard
from tickets.services.availability import catalogue_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("clerk", password="a-long-test-password")


def test_page_fragments_render_without_queries(django_assert_num_queries):
    function = factories.make_function()
    banquet = factories.make_ticket_type(
        factories.make_event(function, name="Banquet"), capacity=20
    )
    package = factories.make_package([(banquet, 2)])
    [(event, [(ticket_type, availability)])] = catalogue_of(function)  # the snapshot's read
    [offer] = packages.offers_of(function)
    counts = PresenceCounts.of(3, {"ticket_selection": 2, "review": 1})
    fragments.availability.cache_clear()
    fragments.presence.cache_clear()
    fragments.package_availability.cache_clear()
    with django_assert_num_queries(0):
        package_state = packages.package_availability(offer, {ticket_type.pk: availability})
        html = "".join(
            [
                fragments.availability(availability),
                fragments.package_availability(package_state),
                fragments.live_indicator(True),
                fragments.toast("low_availability", "Only 2 left!", refresh=("/x/", "x")),
                fragments.event_status(event),
                fragments.presence(counts, "review"),
                fragments.event_details(event),
                fragments.function_details(function),
            ]
        )
    found = elements_by_id(html)
    assert found[f"availability-{ticket_type.pk}"].attrs["data-available"] == "20"
    assert f"buy-{ticket_type.pk}" in found
    assert found[f"package-availability-{package.pk}"].attrs["data-available"] == "10"
    assert found["live-indicator"].attrs["data-live"] == "true"
    assert found["presence"].attrs["data-others"] == "2"
    assert {f"event-status-{event.pk}", f"event-details-{event.pk}", "function-details"} <= set(
        found
    )


@pytest.mark.parametrize(
    ("kind", "with_event"),
    [
        (Broadcast.Kind.MESSAGE, False),
        (Broadcast.Kind.CAPACITY_CHANGE, True),
        (Broadcast.Kind.INFO_UPDATE, True),
        (Broadcast.Kind.INFO_UPDATE, False),
    ],
)
def test_broadcasts_render_without_queries(kind, with_event, django_assert_num_queries):
    function = factories.make_function()
    event = factories.make_event(function)
    sent = Broadcast.objects.create(
        function=function, event=event if with_event else None, kind=kind, text="News"
    )
    news = broadcasts.news_of(sent.pk, ["anyone"])
    with django_assert_num_queries(0):
        rendered = fragments.broadcast(news)
        html = rendered.for_person("anyone")
    kinds = [e.attrs["data-kind"] for e in elements_with(html, "data-kind")]
    assert kinds == [kind, kind]  # the notice and the toast
    assert "News" in html
    assert rendered.by_person == {}


def test_a_cancellation_renders_without_queries(staff, django_assert_num_queries):
    function = factories.make_function()
    banquet = factories.make_ticket_type(
        factories.make_event(function, name="Grand Banquet"), capacity=10
    )
    factories.hold(banquet, 2, buyer="held")
    bought = factories.hold(banquet, 1, buyer="bought").registration
    factories.reach_payment(bought, [factories.attendee("A", banquet)])
    wizard.confirm_registration(bought.pk, payment_method="invoice", payment_status="paid")
    broadcasts.cancel_event(banquet.event_id, reason="Flooded.", cancelled_by=staff)
    sent = Broadcast.objects.get(kind=Broadcast.Kind.CANCELLATION)
    news = broadcasts.news_of(sent.pk, ["held", "bought", "bystander"])
    assert news.hit == {"held": False, "bought": True}
    with django_assert_num_queries(0):
        rendered = fragments.broadcast(news)
        pages = {person: rendered.for_person(person) for person in ("held", "bought", "x")}
    assert elements_by_id(pages["x"])[f"event-status-{banquet.event_id}"].attrs["data-status"] == (
        "cancelled"
    )
    assert "registration-notice" not in elements_by_id(pages["x"])
    assert "refund" in elements_by_id(pages["bought"])["registration-notice"].text
    assert "released" in elements_by_id(pages["held"])["registration-notice"].text


def test_a_deleted_broadcast_is_no_news():
    assert broadcasts.news_of(0, ["anyone"]) is None
