"""Refusals of the capture endpoint. Each carries the message the sender is shown, a
stable `code` and the HTTP status it is answered with (common.errors)."""

from __future__ import annotations

from common.errors import DomainError, RateLimited


class CaptureError(DomainError):
    """A batch was refused whole; `message` says why and is safe to send back."""

    code = "capture_error"
    http_status = 400
    default_message = "That batch could not be captured."


class MalformedBatch(CaptureError):
    code = "malformed_batch"
    default_message = 'Send a JSON object: {"sent_at": "<ISO-8601>", "events": [...]}.'


class BatchTooLarge(CaptureError):
    """Over the byte limit (refused before parsing) or the event limit."""

    code = "batch_too_large"
    http_status = 413


class TooManyBatches(RateLimited):
    code = "too_many_batches"

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after, f"Too many batches; try again in {retry_after} s.")
