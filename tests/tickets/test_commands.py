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
from tickets.models import Function, Hold, Lodge, Registration, TicketType

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def password_file(settings, tmp_path, monkeypatch):
    """seed_demo as `make run` runs it: DEBUG on, its password file in a fresh var/."""
    from tickets.management.commands import seed_demo

    settings.DEBUG = True
    monkeypatch.delenv("LODGETIX_STAFF_PASSWORD", raising=False)
    path = tmp_path / "password"
    monkeypatch.setattr(seed_demo, "PASSWORD_FILE", path)
    return path


class TestSeedDemo:
    def test_seeds_the_demo_function_once(self, password_file):
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
        admission = TicketType.objects.get(event__slug="quarterly-communication")
        assert admission.price == 0
        assert admission.eligible_attendee_types == ["mason"]  # Masons only (design §15)
        assert Lodge.objects.filter(grand_lodge__abbreviation="UGLNSW&ACT").count() == 3
        assert Lodge.objects.count() == 6  # the sample, once: the second run added none
        premium = TicketType.objects.get(name="Premium table seat")
        assert premium.available == 3  # nearly sold out, through real registrations
        assert Registration.objects.filter(status="confirmed").count() == 2
        run("reconcile_inventory")  # the seeded sales left no drift

    def test_says_where_a_working_staff_password_is_kept_never_the_password(self, password_file):
        first = run("seed_demo")
        second = run("seed_demo")
        login = next(line for line in first.splitlines() if line.startswith("Staff login"))
        assert login == f"Staff login for /admin/: user staff, password in {password_file}"
        assert login in second
        password = password_file.read_text().strip()
        assert password not in first + second
        user = get_user_model().objects.get(username="staff")
        assert user.is_staff
        assert user.check_password(password)

    def test_the_password_file_is_only_its_owners_from_the_start(self, password_file):
        run("seed_demo")
        assert password_file.stat().st_mode & 0o777 == 0o600
        # A reset (the password no longer matches) writes a new 0600 file, printed nowhere.
        user = get_user_model().objects.get(username="staff")
        user.set_password("something-else-entirely")
        user.save()
        output = run("seed_demo")
        new_password = password_file.read_text().strip()
        assert new_password not in output
        assert get_user_model().objects.get(username="staff").check_password(new_password)
        assert password_file.stat().st_mode & 0o777 == 0o600

    def test_a_password_from_the_environment_is_not_written_down(self, password_file, monkeypatch):
        monkeypatch.setenv("LODGETIX_STAFF_PASSWORD", "a-long-demo-password")
        output = run("seed_demo")
        assert "password from LODGETIX_STAFF_PASSWORD" in output
        assert "a-long-demo-password" not in output
        assert not password_file.exists()
        assert get_user_model().objects.get(username="staff").check_password("a-long-demo-password")

    def test_with_debug_off_it_refuses_unless_forced(self, password_file, settings):
        settings.DEBUG = False
        with pytest.raises(CommandError, match="--force"):
            run("seed_demo")
        assert not Function.objects.exists()
        assert not get_user_model().objects.exists()
        assert "Created demo function" in run("seed_demo", "--force")


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

    def test_reports_and_fixes_a_waiting_count_that_drifted_from_the_list(self):
        from tickets.services import waitlist

        tt = make_ticket_type(capacity=1)
        hold(tt, 1)
        waitlist.join(
            waitlist.JoinRequest(
                function=tt.event.function,
                ticket_type_id=tt.pk,
                quantity=1,
                name="Bro. Waiting",
                email="waiting@example.com",
                buyer_key="waiter",
            )
        )
        assert "No drift" in run("reconcile_inventory")
        TicketType.objects.filter(pk=tt.pk).update(waiting=3)
        with pytest.raises(CommandError, match="1 ticket type"):
            run("reconcile_inventory")
        assert "3 -> 1" in run("reconcile_inventory", "--fix")
        assert refreshed(tt).waiting == 1
        assert (tt.reserved, tt.sold) == (1, 0)
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
