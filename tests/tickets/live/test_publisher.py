"""The channel layer: which one runs, and what happens when it cannot be reached."""

from __future__ import annotations

import logging
import time

import pytest
from channels.layers import get_channel_layer

from tests.support.factories import make_ticket_type

# Transactional: the push is sent on commit, which a test wrapped in a transaction never sees.
pytestmark = pytest.mark.django_db(transaction=True)


def test_an_unreachable_channel_layer_never_blocks_or_undoes_a_sale(client, settings, caplog):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # A real Redis layer pointed at a port where nothing listens.
            "CONFIG": {"hosts": ["redis://127.0.0.1:9"]},
        }
    }
    tt = make_ticket_type(capacity=5)
    with caplog.at_level(logging.WARNING, logger="tickets.live.publisher"):
        started = time.monotonic()
        response = client.post(
            f"{tt.event.function.get_absolute_url()}hold/", {"ticket_type": tt.pk, "quantity": 2}
        )
        assert time.monotonic() - started < 2
        assert response.status_code == 303
        tt.refresh_from_db()
        assert tt.reserved == 2
        deadline = time.monotonic() + 10
        while "Could not reach the channel layer" not in caplog.text:
            assert time.monotonic() < deadline, "the failure was not logged"
            time.sleep(0.05)


@pytest.mark.redis
def test_services_run_uses_the_redis_pubsub_layer():
    assert type(get_channel_layer()).__name__ == "RedisPubSubChannelLayer"
