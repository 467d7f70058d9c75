"""Throwaway data for benchmarks: a published function with one ticket type, removed
again (with every registration made on it) when the benchmark is done; and sessions of
the configured engine to hand a server ready-made."""

from __future__ import annotations

import datetime
import uuid
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone

from tickets.models import Event, Function, Registration, TicketType


def make_bench_function(kind: str, capacity: int, **function_fields) -> TicketType:
    """A function `bench-<kind>-<random>` with one event and one ticket type."""
    stamp = uuid.uuid4().hex[:8]
    start = timezone.now() + datetime.timedelta(days=30)
    function = Function.objects.create(
        slug=f"bench-{kind}-{stamp}",
        name=f"Bench {kind} {stamp}",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=4),
        published=True,
        **function_fields,
    )
    event = Event.objects.create(
        function=function,
        slug="banquet",
        name="Banquet",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=4),
        status=Event.Status.PUBLISHED,
    )
    return TicketType.objects.create(
        event=event, name="Seat", price=100, capacity=capacity, max_per_order=10
    )


def delete_bench_function(function: Function) -> None:
    Registration.objects.filter(function=function).delete()
    TicketType.objects.filter(event__function=function).delete()
    Event.objects.filter(function=function).delete()
    function.delete()


def session_store(session_key: str | None = None) -> SessionBase:
    """A session of the configured engine (Redis in the production shape), for benchmarks
    and tests that hand a server ready-made sessions."""
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)
