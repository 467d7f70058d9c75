"""Fixtures of the services' race tests."""

from __future__ import annotations

import time

import pytest

from tickets.services import inventory

# Seconds a winning buyer keeps the row lock before committing: long enough for the
# losers to queue behind it, so the race is a real one.
LOCK_HELD_DELAY = 0.01


@pytest.fixture
def slow_winners(monkeypatch):
    """Keep the row lock a little longer after each successful guarded UPDATE."""
    guarded_reserve = inventory.reserve

    def reserve_then_linger(ticket_type, seats):
        result = guarded_reserve(ticket_type, seats)
        time.sleep(LOCK_HELD_DELAY)
        return result

    monkeypatch.setattr(inventory, "reserve", reserve_then_linger)


@pytest.fixture
def one_address_crowd(settings):
    """Every buyer of a race test comes from 127.0.0.1, where a real crowd has many
    addresses: no per-address rate limit or seat cap."""
    settings.HOLD_RATE_LIMIT_PER_IP = None
    settings.HOLD_SEATS_PER_IP = None
