"""The client's address: one reader for views, throttles, capture and the live socket.

Behind `make serve`'s nginx, gunicorn listens on a Unix socket (no `REMOTE_ADDR`) and
nginx passes the peer's address in `X-Real-IP`; uvicorn, started with proxy headers, puts
it in the socket scope's `client`. The header is trusted only with
`LODGETIX_BEHIND_PROXY=1`, which `make serve` sets for its own nginx: without a proxy of
ours in front, a client could set it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest

UNKNOWN = "unknown"


def client_address(request_or_scope: HttpRequest | Mapping[str, Any]) -> str:
    """The address of whoever sent this request (or opened this socket)."""
    if isinstance(request_or_scope, HttpRequest):
        meta = request_or_scope.META
        if settings.BEHIND_PROXY:
            forwarded = meta.get("HTTP_X_REAL_IP", "").strip()
            if forwarded:
                return forwarded
        return meta.get("REMOTE_ADDR") or UNKNOWN
    # An ASGI scope (the WebSocket consumer): uvicorn has already applied the proxy header.
    client = request_or_scope.get("client")
    return (client[0] if client else None) or UNKNOWN


def client_ip(request: HttpRequest) -> str | None:
    """client_address() for stores that keep an IP address or nothing (django-axes'
    AXES_CLIENT_IP_CALLABLE): None where the address is unknown."""
    address = client_address(request)
    return None if address == UNKNOWN else address
