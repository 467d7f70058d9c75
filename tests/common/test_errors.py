"""Domain errors: every refusal has its own stable code and an HTTP error status, and
the response helpers render one the way the views answer (pages: tests/tickets/views/)."""

from __future__ import annotations

import json
import re

import pytest

# Imported for their subclasses: the registry below is whatever has been defined.
import analytics.services.exceptions
import tickets.services.exceptions
from common.errors import (
    DomainError,
    RateLimited,
    error_json,
    error_text,
    refusal_page,
    retry_in,
)
from tickets.services.exceptions import NotEnoughAvailable, TooManyHolds

SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


def every_domain_error() -> list[type[DomainError]]:
    found, pending = [], [DomainError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_the_exception_modules_define_domain_errors():
    modules = {cls.__module__ for cls in every_domain_error()}
    assert {
        tickets.services.exceptions.__name__,
        analytics.services.exceptions.__name__,
        "common.errors",
    } <= modules


def test_every_domain_error_has_its_own_code():
    errors = every_domain_error()
    codes = [cls.code for cls in errors]
    duplicated = {code for code in codes if codes.count(code) > 1}
    assert not duplicated, f"codes used by more than one class: {sorted(duplicated)}"
    # Set on the class itself: a subclass silently answering with its parent's code would
    # be a refusal callers cannot tell apart.
    assert all("code" in vars(cls) for cls in errors)


@pytest.mark.parametrize("cls", every_domain_error(), ids=lambda cls: cls.__name__)
def test_codes_are_snake_case_and_statuses_are_errors(cls):
    assert SNAKE_CASE.fullmatch(cls.code), cls.code
    assert 400 <= cls.http_status <= 599


def test_json_answer_carries_error_and_code():
    response = error_json(NotEnoughAvailable("Banquet", 3, 1))
    assert response.status_code == 409
    assert json.loads(response.content) == {
        "error": "Only 1 seat is left for Banquet; you asked for 3.",
        "code": "not_enough_available",
    }


def test_rate_limits_say_when_to_retry():
    refusal = TooManyHolds(17)
    assert isinstance(refusal, RateLimited)
    for response in (error_json(refusal), error_text(refusal)):
        assert response.status_code == 429
        assert response["Retry-After"] == "17"
    assert error_text(refusal)["Content-Type"].startswith("text/plain")
    assert error_text(refusal).content.decode() == TooManyHolds.default_message


def test_a_refusal_page_says_when_to_retry_and_keeps_retry_after():
    response = refusal_page(TooManyHolds(75), "429.html", {"back_url": "/functions/x/"})
    assert response.status_code == 429
    assert response["Retry-After"] == "75"
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "You can try again in 2 minutes." in body
    assert 'href="/functions/x/"' in body
    assert 'data-code="too_many_holds"' in body


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(1, "1 second"), (45, "45 seconds"), (60, "1 minute"), (61, "2 minutes")],
)
def test_retry_in_rounds_up(seconds, words):
    assert retry_in(seconds) == words
