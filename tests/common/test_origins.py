"""The WebSocket origin check: scheme, host and port, or a trusted origin."""

from __future__ import annotations

import pytest

from common.origins import origin_allowed, socket_scheme


def scope(origin: str | None, host: str = "tickets.example.org", scheme: str = "ws", **headers):
    raw = [(b"host", host.encode())]
    if origin is not None:
        raw.append((b"origin", origin.encode()))
    raw += [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    return {"type": "websocket", "scheme": scheme, "headers": raw}


@pytest.fixture(autouse=True)
def site(settings):
    settings.ALLOWED_HOSTS = ["tickets.example.org", "127.0.0.1"]
    settings.CSRF_TRUSTED_ORIGINS = []
    settings.BEHIND_PROXY = False
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    return settings


@pytest.mark.parametrize(
    ("origin", "host", "scheme"),
    [
        ("http://tickets.example.org", "tickets.example.org", "ws"),
        ("https://tickets.example.org", "tickets.example.org", "wss"),
        ("http://127.0.0.1:8000", "127.0.0.1:8000", "ws"),
        # Default ports written out or left off are the same origin.
        ("https://tickets.example.org", "tickets.example.org:443", "wss"),
        ("HTTP://Tickets.Example.org", "tickets.example.org", "ws"),
    ],
)
def test_the_sites_own_origin_is_allowed(origin, host, scheme):
    assert origin_allowed(scope(origin, host, scheme))


@pytest.mark.parametrize(
    ("origin", "host", "scheme"),
    [
        ("https://evil.example", "tickets.example.org", "ws"),
        ("https://tickets.example.org", "tickets.example.org", "ws"),  # another scheme
        ("http://tickets.example.org", "tickets.example.org", "wss"),  # another scheme
        ("http://tickets.example.org:8080", "tickets.example.org", "ws"),  # another port
        ("http://127.0.0.1:8001", "127.0.0.1:8000", "ws"),  # another port
        # Same origin, but not a host of ours: a rebinding domain that resolves to us.
        ("http://rebound.example", "rebound.example", "ws"),
        ("null", "tickets.example.org", "ws"),
        ("", "tickets.example.org", "ws"),
        (None, "tickets.example.org", "ws"),
        ("javascript://tickets.example.org", "tickets.example.org", "ws"),
    ],
)
def test_any_other_origin_is_refused(origin, host, scheme):
    assert not origin_allowed(scope(origin, host, scheme))


def test_trusted_origins_are_allowed_by_scheme_host_and_port(site):
    site.CSRF_TRUSTED_ORIGINS = ["https://shop.example.org", "https://*.lodge.example"]
    assert origin_allowed(scope("https://shop.example.org"))
    assert origin_allowed(scope("https://shop.example.org:443"))
    assert origin_allowed(scope("https://east.lodge.example"))
    assert not origin_allowed(scope("http://shop.example.org"))
    assert not origin_allowed(scope("https://shop.example.org:8443"))
    assert not origin_allowed(scope("http://east.lodge.example"))
    assert not origin_allowed(scope("https://lodge.example.evil"))


def test_behind_our_proxy_the_forwarded_scheme_counts(site):
    site.BEHIND_PROXY = True
    over_tls = scope("https://tickets.example.org", x_forwarded_proto="https")
    assert socket_scheme(over_tls) == "https"
    assert origin_allowed(over_tls)
    assert not origin_allowed(scope("http://tickets.example.org", x_forwarded_proto="https"))


def test_without_our_proxy_a_forwarded_scheme_is_the_clients_invention(site):
    claimed = scope("https://tickets.example.org", x_forwarded_proto="https")
    assert socket_scheme(claimed) == "http"
    assert not origin_allowed(claimed)
