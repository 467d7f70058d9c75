"""Production defaults (docs/design.md §16): no start without a key, HTTPS on with DEBUG
off, one switch for plain HTTP, and `check --deploy` clean with production settings."""

from __future__ import annotations

import datetime
import os
import runpy
import secrets
import subprocess
import sys

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone

SETTINGS_FILE = str(settings.BASE_DIR / "lodgetix" / "settings.py")
# Whatever the test run set; each test says what its settings get.
OPERATOR_SETTINGS = (
    "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "LODGETIX_HTTPS",
    "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER",
    "CSRF_TRUSTED_ORIGINS", "DJANGO_SETTINGS_MODULE", "HTTP_ON_ONE_THREAD",
)  # fmt: skip


def a_secret_key() -> str:
    return secrets.token_urlsafe(50)


@pytest.fixture
def read_settings(monkeypatch, tmp_path):
    """Evaluate lodgetix/settings.py afresh under the given environment (only the module's
    own namespace: the running test settings are untouched)."""

    def read(**environ: str) -> dict:
        for name in OPERATOR_SETTINGS:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("LODGETIX_VAR_DIR", str(tmp_path))
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(SETTINGS_FILE)

    return read


def test_debug_off_without_a_secret_key_refuses_to_start(read_settings):
    with pytest.raises(ImproperlyConfigured, match="Set SECRET_KEY"):
        read_settings(DEBUG="0")


def test_a_database_url_means_debug_off_and_so_a_key_is_needed(read_settings):
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        read_settings(DATABASE_URL="postgres://root@127.0.0.1:5432/lodgetix")


def test_the_embedded_default_generates_its_key_once_into_var(read_settings, tmp_path):
    first = read_settings()["SECRET_KEY"]
    second = read_settings()["SECRET_KEY"]
    assert first == second == (tmp_path / "secret_key").read_text().strip()
    assert len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_http_runs_on_one_thread_on_sqlite_and_not_on_postgresql(read_settings):
    # common/one_thread.py: SQLite writes one transaction at a time anyway.
    assert read_settings()["HTTP_ON_ONE_THREAD"] is True
    assert read_settings(DATABASE_URL="sqlite:////tmp/x.sqlite3", DEBUG="1")["HTTP_ON_ONE_THREAD"]
    postgres = read_settings(
        DATABASE_URL="postgres://root@127.0.0.1:5432/lodgetix", SECRET_KEY=a_secret_key()
    )
    assert postgres["HTTP_ON_ONE_THREAD"] is False
    assert read_settings(HTTP_ON_ONE_THREAD="off")["HTTP_ON_ONE_THREAD"] is False


def test_debug_off_turns_https_on(read_settings):
    values = read_settings(DEBUG="0", SECRET_KEY=a_secret_key())
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is False
    assert values["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


def test_one_switch_turns_https_off_for_plain_http_on_a_trusted_network(read_settings):
    values = read_settings(DEBUG="0", SECRET_KEY=a_secret_key(), LODGETIX_HTTPS="off")
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["CSRF_COOKIE_SECURE"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SECURE_PROXY_SSL_HEADER"] is None


def test_debug_on_serves_plain_http(read_settings):
    values = read_settings()
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is False


def test_each_https_setting_and_the_trusted_origins_come_from_the_environment(read_settings):
    values = read_settings(
        DEBUG="0",
        SECRET_KEY=a_secret_key(),
        SECURE_HSTS_SECONDS="600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="off",
        SECURE_HSTS_PRELOAD="on",
        CSRF_TRUSTED_ORIGINS="https://tickets.example.org, https://*.lodge.example",
    )
    assert values["SECURE_HSTS_SECONDS"] == 600
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert values["SECURE_HSTS_PRELOAD"] is True
    assert values["SILENCED_SYSTEM_CHECKS"] == []  # nothing to silence with preload on
    assert values["CSRF_TRUSTED_ORIGINS"] == [
        "https://tickets.example.org",
        "https://*.lodge.example",
    ]


def production_env(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in OPERATOR_SETTINGS}
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "lodgetix.settings",
        "DEBUG": "0",
        "SECRET_KEY": a_secret_key(),
        "ALLOWED_HOSTS": "tickets.example.org",
        **extra,
    }


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = check_deploy(production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    # The one silenced check is HSTS preload, off by choice (README).
    assert "System check identified no issues (1 silenced)" in result.stdout


def test_check_deploy_warns_about_plain_http():
    """The control: the check above would see insecure settings."""
    result = check_deploy(production_env(LODGETIX_HTTPS="off"))
    assert result.returncode != 0
    assert "security.W008" in result.stderr + result.stdout


# --- admin login throttling ---------------------------------------------------------------

ADMIN_LOGIN = "/admin/login/"
STAFF_PASSWORD = "a-long-staff-password"


def log_in(client, password: str):
    return client.post(ADMIN_LOGIN, {"username": "staff", "password": password, "next": "/admin/"})


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(
        "staff", password=STAFF_PASSWORD, is_staff=True, is_superuser=True
    )


def test_failed_admin_logins_lock_the_address_out_until_the_cool_off(staff, settings):
    attacker = Client(REMOTE_ADDR="10.6.6.6")
    answers = [
        log_in(attacker, f"guess-{n}").status_code for n in range(settings.AXES_FAILURE_LIMIT)
    ]
    # The form again for each wrong guess, then locked: the right password is refused too.
    assert answers[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert answers[-1] == 429
    locked = log_in(attacker, STAFF_PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in attacker.session

    # Another address is unaffected: staff at the lodge office still get in.
    office = Client(REMOTE_ADDR="10.1.2.3")
    assert log_in(office, STAFF_PASSWORD).status_code == 302
    assert office.get("/admin/").status_code == 200

    # After the cool-off (counted from the last failure) the address may log in again.
    AccessAttempt.objects.filter(ip_address="10.6.6.6").update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - datetime.timedelta(seconds=1)
    )
    assert log_in(attacker, STAFF_PASSWORD).status_code == 302


def test_behind_our_proxy_the_lockout_follows_the_forwarded_address(staff, settings):
    settings.BEHIND_PROXY = True
    # Behind nginx every request comes from the same (Unix socket) peer.
    first = Client(REMOTE_ADDR="", HTTP_X_REAL_IP="203.0.113.7")
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(first, f"guess-{n}")
    assert log_in(first, STAFF_PASSWORD).status_code == 429
    second = Client(REMOTE_ADDR="", HTTP_X_REAL_IP="203.0.113.8")
    assert log_in(second, STAFF_PASSWORD).status_code == 302
