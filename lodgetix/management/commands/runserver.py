"""`manage.py runserver`: daphne's (HTTP and WebSockets from one process, as `make run`
serves the embedded default), listening with a backlog a small rush fits in.

Daphne listens with Twisted's default backlog of 50 connections. When 60 buyers press
"Hold" at once while the one process is busy, the kernel drops every connection beyond the
queue and each of those clients tries again only after TCP's one-second SYN timeout: a
second of latency from the queue alone, seen as p99 1.06-1.09 s in the embedded rush. The
production servers listen with 2048 (gunicorn's and uvicorn's default); so does this one.
"""

from __future__ import annotations

from daphne.management.commands.runserver import Command as DaphneRunserverCommand
from daphne.server import Server

LISTEN_BACKLOG = 2048


def with_backlog(endpoint: str, backlog: int = LISTEN_BACKLOG) -> str:
    """A Twisted endpoint description that listens with `backlog`: TCP only (the others
    take no backlog), and an explicit one is kept."""
    if not endpoint.startswith("tcp:") or any(
        part.startswith("backlog=") for part in endpoint.split(":")
    ):
        return endpoint
    return f"{endpoint}:backlog={backlog}"


class BackloggedServer(Server):
    """daphne's server, every TCP endpoint it is given listening with LISTEN_BACKLOG."""

    def __init__(self, *args: object, endpoints: list[str] | None = None, **kwargs: object) -> None:
        super().__init__(*args, endpoints=[with_backlog(e) for e in endpoints or []], **kwargs)


class Command(DaphneRunserverCommand):
    server_cls = BackloggedServer
