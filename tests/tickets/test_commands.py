"""Developer commands: seed_demo, release_expired_holds, reconcile_inventory."""

from __future__ import annotations

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tests.support.factories import hold, make_ticket_type, refreshed
from tickets.models import Function, Hold, Registration, TicketType

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


class TestSeedDemo:
    def test_seeds_the_demo_function_once(self, settings, tmp_path, monkeypatch):
        from tickets.management.commands import seed_demo

        monkeypatch.setattr(seed_demo, "PASSWORD_FILE", tmp_path / "password")
        first = run("seed_demo")
        second = run("seed_demo")
        assert "Created demo function" in first
        assert "already exists" in second
        assert Function.objects.count() == 1
        function = Function.objects.get()
        by_event = {}
        for tt in TicketType.objects.filter(event__function=function).select_related("event"):
            by_event[tt.event.slug] = by_event.get(tt.event.slug, 0) + tt.capacity
        assert by_event == {
            "ceremony": 600,
            "quarterly-communication": 500,
            "cocktail": 200,
            "banquet": 480,
            "cruise-lunch": 150,
            "ladies-brunch": 100,
        }
        assert TicketType.objects.get(event__slug="quarterly-communication").price == 0
        premium = TicketType.objects.get(name="Premium table seat")
        assert premium.available == 3  # nearly sold out, through real registrations
        assert Registration.objects.filter(status="confirmed").count() == 2
        run("reconcile_inventory")  # the seeded sales left no drift

    def test_prints_a_working_staff_login_every_time(self, tmp_path, monkeypatch):
        from tickets.management.commands import seed_demo

        monkeypatch.setattr(seed_demo, "PASSWORD_FILE", tmp_path / "password")
        first = run("seed_demo")
        second = run("seed_demo")
        login = next(line for line in first.splitlines() if line.startswith("Staff login"))
        assert login in second
        password = login.rsplit(" ", 1)[1]
        user = get_user_model().objects.get(username="staff")
        assert user.is_staff
        assert user.check_password(password)


class TestReleaseExpiredHolds:
    def test_releases_expired_holds_once(self):
        tt = make_ticket_type(capacity=10)
        registration = hold(tt, 3).registration
        past = timezone.now() - datetime.timedelta(seconds=1)
        Registration.objects.filter(pk=registration.pk).update(expires_at=past)
        Hold.objects.update(expires_at=past)
        assert "Released 1 expired hold(s) of 1 expired" in run("release_expired_holds")
        assert refreshed(tt).reserved == 0
        assert "Released 0 expired hold(s) of 0 expired" in run("release_expired_holds")

    def test_rejects_a_bad_interval(self):
        with pytest.raises(CommandError, match="positive"):
            run("release_expired_holds", "--loop", "--interval", "0")

    def test_rejects_a_non_numeric_interval(self):
        with pytest.raises(CommandError):
            run("release_expired_holds", "--interval", "soon")


class TestReconcileInventory:
    def test_reports_no_drift_when_counters_match(self):
        tt = make_ticket_type()
        hold(tt, 2)
        assert "No drift" in run("reconcile_inventory")

    def test_reports_and_fixes_drift(self):
        tt = make_ticket_type(capacity=10)
        hold(tt, 2)
        # What the replaced system did: a counter bumped by hand besides the real hold.
        TicketType.objects.filter(pk=tt.pk).update(reserved=5, sold=1)
        with pytest.raises(CommandError, match="1 ticket type"):
            run("reconcile_inventory")
        assert (refreshed(tt).reserved, tt.sold) == (5, 1)  # reporting changes nothing
        output = run("reconcile_inventory", "--fix")
        assert "Fixed 1 ticket type(s)." in output
        assert (refreshed(tt).reserved, tt.sold) == (2, 0)
        assert "No drift" in run("reconcile_inventory")

    def test_drift_that_cannot_be_fixed_is_explained(self):
        tt = make_ticket_type(capacity=10)
        hold(tt, 8)
        # Holds that add up to more than capacity (as if capacity was lowered by SQL).
        TicketType.objects.filter(pk=tt.pk).update(capacity=8, reserved=3)
        Hold.objects.filter(ticket_type=tt).update(seats=9)
        with pytest.raises(CommandError, match="could not be fixed"):
            run("reconcile_inventory", "--fix")
        assert refreshed(tt).reserved == 3
