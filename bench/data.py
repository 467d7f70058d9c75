"""Throwaway data for benchmarks: a published function with one ticket type, removed
again (with every registration made on it) when the benchmark is done; and sessions of
the configured engine to hand a server ready-made."""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid
from collections.abc import Awaitable, Callable
from importlib import import_module

import psycopg
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tickets.models import Event, Function, Registration, TicketType


def require_migrated_database() -> None:
    """Refuse, saying what to run, when this database lacks a migration: a scenario's
    first write would otherwise end in a traceback ("no such table") on a new database."""
    executor = MigrationExecutor(connection)
    unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if unapplied:
        first = unapplied[0][0]
        raise CommandError(
            f"This database has {len(unapplied)} unapplied migration(s), the first "
            f"{first.app_label}.{first.name}: run `python manage.py migrate` first "
            "(`make run` and `make serve` do)."
        )


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


# --- raw baselines: the database alone, on connections of their own ------------------------


def conninfo() -> str:
    """psycopg's connection string for Django's database."""
    db = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=db["NAME"],
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=str(db["PORT"]) if db.get("PORT") else None,
    )


async def timed_on_connections(
    concurrency: int, work: Callable[[psycopg.AsyncConnection, int], Awaitable[None]]
) -> float:
    """Open `concurrency` connections, run `work(connection, index)` on all of them at
    once, close them; the seconds the work took (connecting not included)."""
    info = conninfo()
    connections = [await psycopg.AsyncConnection.connect(info) for _ in range(concurrency)]
    started = time.perf_counter()
    try:
        await asyncio.gather(*(work(c, i) for i, c in enumerate(connections)))
    finally:
        for conn in connections:
            await conn.close()
    return time.perf_counter() - started
