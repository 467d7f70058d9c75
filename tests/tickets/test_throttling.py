"""The hold path's rate limits (tickets/throttling.py): the address and the session are
counted, and the session read, in one Redis round trip."""

from __future__ import annotations

import pytest
from django.test import Client

from common import sessions
from common.buyers import BUYER_SESSION_KEY
from tests.support.factories import make_ticket_type
from tests.support.http import post_hold, unique_address
from tests.support.redis_server import redis_round_trips
from tickets.models import Registration

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture(autouse=True)
def counting(fresh_rate_limits, settings):
    # Both limits on, whatever the environment set.
    settings.HOLD_RATE_LIMIT_PER_IP = (100, 60)
    settings.HOLD_RATE_LIMIT_PER_BUYER = (10, 60)


def buyer_after_the_page(ticket_type) -> tuple[Client, str]:
    """A buyer who has loaded the function page (which gives the session its buyer key)."""
    client, address = Client(), unique_address()
    client.get(ticket_type.event.function.get_absolute_url(), REMOTE_ADDR=address)
    return client, address


def redis_trips_of_a_first_hold(ticket_type) -> tuple[list[bytes], Registration]:
    # A first buyer's hold opens the connections; the second one's is counted.
    warm, address = buyer_after_the_page(ticket_type)
    assert post_hold(warm, ticket_type, 1, address=address).status_code == 303
    client, address = buyer_after_the_page(ticket_type)
    with redis_round_trips() as sent:
        assert post_hold(client, ticket_type, 1, address=address).status_code == 303
    registration = Registration.objects.get(buyer_key=client.session[BUYER_SESSION_KEY])
    return sent, registration


def test_a_first_hold_asks_redis_once_for_its_limits_and_its_session():
    sent, registration = redis_trips_of_a_first_hold(make_ticket_type(capacity=10))
    assert len(sent) == 1
    assert sent[0].count(b"INCR") == 2
    assert b"GET" in sent[0]
    assert registration.holds.count() == 1  # the buyer the prefetched session named


def test_the_count_sees_a_session_read_of_its_own(monkeypatch):
    # The control: without the prefetch the same hold makes a second trip, and the
    # count above would have seen it.
    monkeypatch.setattr(sessions, "prefetch", lambda session: None)
    sent, _ = redis_trips_of_a_first_hold(make_ticket_type(capacity=10))
    assert len(sent) == 2


def test_each_session_is_counted_on_its_own(settings):
    settings.HOLD_RATE_LIMIT_PER_BUYER = (2, 60)
    ticket_type = make_ticket_type(capacity=50)
    client, address = buyer_after_the_page(ticket_type)
    other, _ = buyer_after_the_page(ticket_type)
    answers = [post_hold(client, ticket_type, 1, address=address) for _ in range(3)]
    assert [a.status_code for a in answers][-1] == 429
    assert 1 <= int(answers[-1]["Retry-After"]) <= 60
    # Another session from the same address is not held back by this one's count.
    assert post_hold(other, ticket_type, 1, address=address).status_code == 303
