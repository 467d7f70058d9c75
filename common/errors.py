"""Domain errors that know how they are answered over HTTP.

A service refuses a request by raising a `DomainError` subclass. The class carries what
every caller needs to answer it, so no view keeps its own table of which refusal is which
status:

- `code`: stable, snake_case, for programs (tests, the browser, outside tools). Once
  published a code never changes meaning; a new kind of refusal gets a new code.
- `http_status`: 409 when the state of the world refuses (sold out, closed), 400 when the
  request itself is wrong, 413 too large, 429 too many.
- `message`: the sentence shown to people; safe to show (no internals).

The response helpers render one the way the views already answer: a page, JSON
(`{"error": message, "code": code}`), plain text, or a self-contained error page. Like
the rest of `common`, nothing here imports an app.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader


class DomainError(Exception):
    """A rule refused the request; subclasses set `code`, `http_status`, `default_message`."""

    code: ClassVar[str] = "domain_error"
    http_status: ClassVar[int] = 400
    default_message: ClassVar[str] = "That could not be done."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    @property
    def headers(self) -> dict[str, str]:
        """Response headers the refusal needs (Retry-After for a rate limit)."""
        return {}


class RateLimited(DomainError):
    """Too many requests in a window; `retry_after` seconds until it resets."""

    code = "rate_limited"
    http_status = 429
    default_message = "Too many requests in a short time; please wait a moment and try again."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def error_json(error: DomainError) -> JsonResponse:
    """The JSON answer of a refusal: `{"error": message, "code": code}`."""
    return JsonResponse(
        {"error": error.message, "code": error.code},
        status=error.http_status,
        headers=error.headers,
    )


def error_text(error: DomainError) -> HttpResponse:
    """The plain-text answer of a refusal, for clients that read no page (the hold 429
    is a page now: `refusal_page`)."""
    return HttpResponse(
        error.message,
        status=error.http_status,
        content_type="text/plain; charset=utf-8",
        headers=error.headers,
    )


def retry_in(seconds: int) -> str:
    """Retry-After said for people: "30 seconds", "2 minutes" (rounded up: too early a
    retry is refused again)."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def refusal_page(
    error: DomainError,
    template_name: str,
    context: Mapping[str, Any] | None = None,
) -> HttpResponse:
    """A refusal as a self-contained page (a template built on friendly_error.html).

    Rendered without the request context, so it costs no query and no session read: what
    a client that sends too fast (429) should cost. Templates read `error`, `error_code`,
    and for a rate limit `retry_after` (seconds) and `retry_in` (words)."""
    values: dict[str, Any] = {**(context or {}), "error": error.message, "error_code": error.code}
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        values |= {"retry_after": retry_after, "retry_in": retry_in(retry_after)}
    return HttpResponse(
        loader.get_template(template_name).render(values),
        status=error.http_status,
        headers=error.headers,
    )


def error_page(
    request: HttpRequest,
    template_name: str,
    context: Mapping[str, Any],
    error: DomainError,
) -> HttpResponse:
    """The page a view renders anyway, with the refusal shown on it: templates read
    `error` (the message) and `error_code`."""
    response = render(
        request,
        template_name,
        {**context, "error": error.message, "error_code": error.code},
        status=error.http_status,
    )
    for name, value in error.headers.items():
        response[name] = value
    return response
