"""Who is buying: an anonymous identity kept in the Django session.

A registration belongs to the browser session that opened it; the key survives login
(Django keeps session data when it rotates the session id) and is what presence counts,
so three tabs of one person are one person.
"""

from __future__ import annotations

import secrets

from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest

BUYER_SESSION_KEY = "lodgetix_buyer"


def buyer_key_of(session: SessionBase) -> str | None:
    return session.get(BUYER_SESSION_KEY)


def ensure_buyer_key(request: HttpRequest) -> str:
    key = buyer_key_of(request.session)
    if key is None:
        key = secrets.token_urlsafe(18)
        request.session[BUYER_SESSION_KEY] = key
    return key
