"""Who builds each kind of message. Apps register a renderer per kind in their
AppConfig.ready(); the sender calls it at delivery time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from outbox.models import OutboxMessage


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str


@dataclass(frozen=True)
class RenderedMessage:
    text: str
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)


Renderer = Callable[["OutboxMessage"], RenderedMessage]

_renderers: dict[str, Renderer] = {}


def register(kind: str, renderer: Renderer) -> None:
    _renderers[kind] = renderer


def render(message: OutboxMessage) -> RenderedMessage:
    try:
        renderer = _renderers[message.kind]
    except KeyError:
        raise LookupError(f"No renderer for outbox messages of kind {message.kind!r}") from None
    return renderer(message)
