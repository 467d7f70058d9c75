"""Friendly answers for a server error, and 503 "try again" when the database is away.

`server_error` is the project's handler500 (lodgetix/urls.py). Django calls it for any
exception nothing else handled - in a view or in a middleware - while the exception is
still in flight, so it can tell a database that is restarting, unreachable or out of
pooled connections (an `OperationalError`, psycopg_pool's `PoolTimeout` among them) from
a bug: the first answers 503 with `Retry-After` and a page saying to try again in a
moment, the second the friendly 500 page. JSON clients (`/api/`, or asking for JSON) get
`{"error": message, "code": code}` like every other refusal (common/errors.py).

Nothing here touches the database or the session: the pages render without a request
context (no context processors, which would read the user).
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader

from common.errors import DomainError, error_json

logger = logging.getLogger(__name__)

# Long enough for a PostgreSQL restart or a pool queue to clear, short enough that a
# person trying again finds it back.
RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(DomainError):
    code = "database_unavailable"
    http_status = 503
    default_message = "We are very busy or briefly unavailable. Please try again in a moment."

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)}


class ServerError(DomainError):
    code = "server_error"
    http_status = 500
    default_message = "Something went wrong on our side. Please try again in a moment."


def database_unavailable(error: BaseException | None) -> bool:
    """Whether `error` (or what caused it) says the database cannot be reached now."""
    seen = 0
    while error is not None and seen < 5:
        # Django wraps the driver's errors in its own (django.db.OperationalError), with
        # psycopg's (or psycopg_pool's PoolTimeout, an OperationalError) as the cause.
        if isinstance(error, OperationalError | InterfaceError):
            return True
        if type(error).__module__.startswith(("psycopg", "psycopg_pool")) and type(
            error
        ).__name__ in {"OperationalError", "PoolTimeout", "InterfaceError"}:
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: 503 "try again" for a database outage, the friendly 500 otherwise."""
    in_flight = sys.exc_info()[1]
    error: DomainError = DatabaseUnavailable() if database_unavailable(in_flight) else ServerError()
    if wants_json(request):
        return error_json(error)
    template = "503.html" if error.http_status == 503 else "500.html"
    response = HttpResponse(
        loader.get_template(template).render({"message": error.message}),
        status=error.http_status,
        headers=error.headers,
    )
    return response
