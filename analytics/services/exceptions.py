"""Refusals of the capture endpoint. Each carries the message the sender is shown."""

from __future__ import annotations


class CaptureError(Exception):
    """A batch was refused whole; `message` says why and is safe to send back."""

    default_message = "That batch could not be captured."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class MalformedBatch(CaptureError):
    default_message = 'Send a JSON object: {"sent_at": "<ISO-8601>", "events": [...]}.'


class BatchTooLarge(CaptureError):
    pass
