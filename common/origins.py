"""Who may open a WebSocket: pages of this site, and the origins it trusts for forms.

Channels' AllowedHostsOriginValidator compares only the Origin's host with ALLOWED_HOSTS,
so a page on http://tickets.example.org:8080 (or any other port or scheme of an allowed
host) could open a socket carrying the visitor's session cookie. This compares scheme,
host and port, as Django's CSRF check does for forms: the Origin must be the socket's own
scheme://host[:port] (http for ws, https for wss) on an allowed host, or be listed in
CSRF_TRUSTED_ORIGINS. Anything else - no Origin at all included - is refused at the
handshake.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

DEFAULT_PORTS = {"http": "80", "https": "443"}


def _header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            try:
                return value.decode("latin1")
            except UnicodeDecodeError:
                return None
    return None


def socket_scheme(scope: Mapping[str, Any]) -> str:
    """The scheme of the page that may open this socket: https for wss, http for ws.

    Behind our proxy TLS ends in front of us, so the proxy's X-Forwarded-Proto says what
    the browser used (as SECURE_PROXY_SSL_HEADER does for pages). Without a proxy of ours
    the header is the client's to invent, and is ignored.
    """
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    header = settings.SECURE_PROXY_SSL_HEADER
    if settings.BEHIND_PROXY and header:
        name, secure_value = header
        meta_name = name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin1")
        forwarded = _header(scope, meta_name)
        if forwarded is not None:
            first = forwarded.split(",", 1)[0].strip().lower()
            scheme = "https" if first in {secure_value, "wss"} else "http"
    return scheme


def _normalised(scheme: str, netloc: str) -> tuple[str, str, str] | None:
    """(scheme, host, port) with the scheme's default port written out; None if unreadable."""
    host, port = split_domain_port(netloc.lower())
    if not host:
        return None
    return scheme, host, port or DEFAULT_PORTS.get(scheme, "")


def _trusted(origin: str, scheme: str, netloc: str, trusted: Iterable[str]) -> bool:
    for entry in trusted:
        parts = urlsplit(entry)
        if "*" in parts.netloc:
            # As Django's CSRF check: "https://*.example.org" trusts every subdomain.
            if parts.scheme == scheme and is_same_domain(netloc.lower(), parts.netloc.lstrip("*")):
                return True
        elif _normalised(parts.scheme, parts.netloc) == _normalised(scheme, netloc):
            return True
    return origin in trusted


def origin_allowed(scope: Mapping[str, Any]) -> bool:
    """Whether the socket's Origin is this site itself or a trusted origin."""
    origin = _header(scope, b"origin")
    if not origin:
        return False
    parts = urlsplit(origin)
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc:
        return False
    if _trusted(origin, parts.scheme, parts.netloc, settings.CSRF_TRUSTED_ORIGINS):
        return True
    own_host = _header(scope, b"host") or ""
    host, _ = split_domain_port(own_host.lower())
    # The host must be ours too, or a page on a rebinding domain that resolves to us would
    # be "same origin" with itself.
    if not host or not validate_host(host, settings.ALLOWED_HOSTS):
        return False
    own = _normalised(socket_scheme(scope), own_host)
    return own is not None and own == _normalised(parts.scheme, parts.netloc)


class SameOriginValidator:
    """ASGI middleware for WebSocket routes: refuse the handshake from any other origin."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator guards WebSocket connections only")
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
