"""EMAIL_URL (docs/design.md §10): the three schemes, the console when unset, and a
malformed URL refused at start."""

from __future__ import annotations

import runpy

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from lodgetix.settings import email_config

SMTP = "django.core.mail.backends.smtp.EmailBackend"


def test_unset_means_the_console() -> None:
    assert email_config("") == {"EMAIL_BACKEND": "outbox.backends.ConsoleBackend"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://mailer:s%40cret@mail.example.org:2525",
            ("mail.example.org", 2525, "mailer", "s@cret", False, False),
        ),
        ("smtp://mail.example.org", ("mail.example.org", 25, "", "", False, False)),
        ("smtp+tls://u:p@mail.example.org", ("mail.example.org", 587, "u", "p", True, False)),
        ("smtps://u:p@mail.example.org", ("mail.example.org", 465, "u", "p", False, True)),
        ("smtps://u:p@mail.example.org:10465", ("mail.example.org", 10465, "u", "p", False, True)),
    ],
)
def test_each_scheme_says_how_to_reach_the_server(url, expected) -> None:
    config = email_config(url)
    assert config["EMAIL_BACKEND"] == SMTP
    assert (
        config["EMAIL_HOST"],
        config["EMAIL_PORT"],
        config["EMAIL_HOST_USER"],
        config["EMAIL_HOST_PASSWORD"],
        config["EMAIL_USE_TLS"],
        config["EMAIL_USE_SSL"],
    ) == expected


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mail.example.org:25", "scheme"),
        ("imap://mail.example.org", "'imap'"),
        ("smtp://mail.example.org:port", "port that is not a number"),
        ("smtp://", "names no host"),
        ("smtp://mail.example.org?timeout=5", "no query string"),
    ],
)
def test_a_malformed_url_is_refused_with_what_is_wrong(url, says) -> None:
    with pytest.raises(ImproperlyConfigured, match=says):
        email_config(url)


def test_a_malformed_url_stops_the_start(monkeypatch, tmp_path) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LODGETIX_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("EMAIL_URL", "smtp//mail.example.org")
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        runpy.run_path(str(settings.BASE_DIR / "lodgetix" / "settings.py"))


def test_the_sender_and_timeout_come_from_the_environment(monkeypatch, tmp_path) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LODGETIX_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("EMAIL_URL", "smtp+tls://mail.example.org")
    monkeypatch.setenv("DEFAULT_FROM_EMAIL", "Lodge <tickets@lodge.example>")
    monkeypatch.setenv("EMAIL_TIMEOUT", "3")
    read = runpy.run_path(str(settings.BASE_DIR / "lodgetix" / "settings.py"))
    assert read["DEFAULT_FROM_EMAIL"] == "Lodge <tickets@lodge.example>"
    assert read["EMAIL_TIMEOUT"] == 3.0
    assert (read["EMAIL_HOST"], read["EMAIL_USE_TLS"]) == ("mail.example.org", True)


def test_without_the_environment_mail_is_printed_from_a_local_address(
    monkeypatch, tmp_path
) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("EMAIL_URL", "DEFAULT_FROM_EMAIL", "EMAIL_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LODGETIX_VAR_DIR", str(tmp_path))
    read = runpy.run_path(str(settings.BASE_DIR / "lodgetix" / "settings.py"))
    assert read["EMAIL_BACKEND"] == "outbox.backends.ConsoleBackend"
    assert read["DEFAULT_FROM_EMAIL"] == "LodgeTix <noreply@localhost>"
    assert read["EMAIL_TIMEOUT"] == 10.0
