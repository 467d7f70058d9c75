"""HTTP on one thread, through Django's WSGI handler: the embedded default's HTTP.

Django's ASGI handler starts a thread for every request and, with our middleware, moves
between the event loop and threads for each of its `process_*` hooks. Measured under
daphne's runserver that costs 3.5-4 ms of CPU on every request (a /healthz: 5.1-5.7 ms
against 1.5-1.8 ms), and a burst of buyers becomes that many threads contending for the
GIL and for SQLite's one write lock. On SQLite, which writes one transaction at a time
anyway, the embedded default instead runs Django's WSGI handler - the one gunicorn runs
in production - on asgiref's single sync thread: requests queue in arrival order and
each runs its middleware and view in one go, first come, first served. The cost is that a
slow page (an admin export) delays the requests behind it.

asgiref's `WsgiToAsgi` does the translation, with two amendments:

- It never calls the response's `close()`, which is what sends Django's
  `request_finished` (connections closed, caches released), so `finished_responses` reads
  the response whole and closes it before handing it over.
- Each request runs in a fresh context. On a kept-alive connection daphne starts the next
  request while it sends the last one's answer, so the new request's task would inherit
  the context of that `send` - and with it asgiref's note that the sync thread is waiting
  there, to which it then hands the new request: "CurrentThreadExecutor already quit or
  is broken", or a body read after it was closed, and a 500 (seen in the browser tests).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Iterable
from typing import Any

from asgiref.wsgi import WsgiToAsgi

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
ASGIApp = Any  # an ASGI 3 application: async (scope, receive, send) -> None


def http_on_one_thread(wsgi_app: WSGIApp) -> ASGIApp:
    """An ASGI app running `wsgi_app` for every HTTP request, one request at a time, on
    one thread, in arrival order."""
    adapter = WsgiToAsgi(finished_responses(wsgi_app))

    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        # Cancelling this task (daphne does at shutdown, or 10 s after the client left)
        # cancels the request's task too.
        await asyncio.create_task(adapter(scope, receive, send), context=contextvars.Context())

    return app


def finished_responses(wsgi_app: WSGIApp) -> WSGIApp:
    """`wsgi_app` with each response read whole and closed, as a WSGI server would close
    it once sent. Our responses are never streamed, so nothing waits on the read."""

    def app(environ: dict, start_response: Callable) -> list[bytes]:
        response = wsgi_app(environ, start_response)
        try:
            return [b"".join(response)]
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()

    return app
