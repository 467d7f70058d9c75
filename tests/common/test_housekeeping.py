"""The sweeper's housekeeping: every N seconds, each registered job; failures isolated."""

from __future__ import annotations

import asyncio
import datetime
import io
import os
import signal

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone

from analytics.models import Interaction
from common import housekeeping
from common.housekeeping import Schedule
from tests.support.factories import make_interaction
from tickets import sweeper


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def only_these_jobs(monkeypatch):
    """A registry of the test's own jobs (the apps' are restored afterwards)."""
    monkeypatch.setattr(housekeeping, "_jobs", {})
    return housekeeping


def test_jobs_run_at_once_then_every_interval(only_these_jobs):
    runs = []
    only_these_jobs.register("count", lambda: runs.append(1) or f"run {len(runs)}")
    clock = Clock()
    schedule = Schedule(60, clock=clock)

    assert schedule.run_due() == ["count: run 1"]
    clock.now += 59
    assert schedule.run_due() == []
    clock.now += 1
    assert schedule.run_due() == ["count: run 2"]


def test_a_failing_job_is_logged_and_the_others_still_run(only_these_jobs, caplog):
    def broken() -> None:
        raise RuntimeError("database restarting")

    only_these_jobs.register("broken", broken)
    only_these_jobs.register("fine", lambda: "done")

    assert Schedule(60, clock=Clock()).run_due() == ["fine: done"]
    assert "Housekeeping job broken failed" in caplog.text


def test_an_interval_of_zero_turns_housekeeping_off(only_these_jobs):
    only_these_jobs.register("never", lambda: "ran")
    assert Schedule(0).run_due() == []


def test_the_apps_register_sessions_interactions_and_personal_data():
    names = {job.name for job in housekeeping.jobs()}
    assert {"sessions", "interactions", "personal data"} <= names


@pytest.fixture
def due_for_housekeeping(db, settings):
    """An expired session and an interaction past the retention."""
    settings.ANALYTICS_RETENTION_DAYS = 30
    settings.HOUSEKEEPING_INTERVAL = 3600
    Session.objects.create(
        session_key="x" * 32,
        session_data="",
        expire_date=timezone.now() - datetime.timedelta(days=1),
    )
    make_interaction(occurred_at=timezone.now() - datetime.timedelta(days=31))
    recent = make_interaction(occurred_at=timezone.now())
    return recent


@pytest.fixture
def signal_handlers_restored():
    """The looping command installs SIGTERM and SIGINT handlers; give pytest its own back."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


# Transactional: the loop closes and reopens its database connection between passes.
@pytest.mark.django_db(transaction=True)
def test_the_production_sweeper_does_the_housekeeping(
    due_for_housekeeping, signal_handlers_restored, monkeypatch
):
    # A last job stops the loop the way supervisord does, once the real jobs have run.
    jobs = {**housekeeping._jobs}
    jobs["stop"] = housekeeping.Job("stop", lambda: os.kill(os.getpid(), signal.SIGTERM))
    monkeypatch.setattr(housekeeping, "_jobs", jobs)
    out = io.StringIO()

    call_command("release_expired_holds", "--loop", "--interval", "0.1", stdout=out)

    assert "Housekeeping: interactions: deleted 1 interaction(s) over 30 days old" in (
        out.getvalue()
    )
    assert not Session.objects.exists()
    assert list(Interaction.objects.all()) == [due_for_housekeeping]


@pytest.mark.django_db(transaction=True)
async def test_the_in_server_sweeper_does_the_housekeeping(due_for_housekeeping):
    task = asyncio.create_task(sweeper.sweep_expired_holds_forever())
    try:
        for _ in range(100):
            if not await Interaction.objects.filter(pk__lt=due_for_housekeeping.pk).aexists():
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
    assert not await Session.objects.aexists()
    assert [i async for i in Interaction.objects.all()] == [due_for_housekeeping]
