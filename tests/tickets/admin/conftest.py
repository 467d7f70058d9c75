"""Fixtures of the admin tests."""

from __future__ import annotations

import pytest

from tests.support.factories import make_ticket_type


@pytest.fixture
def ticket_type():
    return make_ticket_type(capacity=100, max_per_order=50)
