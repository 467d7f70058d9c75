"""common/one_thread.py: HTTP through a WSGI app on one thread, in arrival order, each
response closed."""

from __future__ import annotations

import asyncio
import threading

from asgiref.sync import ThreadSensitiveContext
from asgiref.testing import ApplicationCommunicator
from asgiref.wsgi import WsgiToAsgi

from common.one_thread import http_on_one_thread


class RecordingResponse(list):
    """A WSGI response that notes whether the server closed it."""

    closed = False

    def close(self) -> None:
        self.closed = True


class RecordingApp:
    """A WSGI app noting the thread each request ran on, in what order they came in, and
    the responses it handed out."""

    def __init__(self) -> None:
        self.threads: list[str] = []
        self.entered: list[str] = []
        self.responses: list[RecordingResponse] = []

    def __call__(self, environ, start_response):
        self.threads.append(threading.current_thread().name)  # names are never reused
        self.entered.append(environ["QUERY_STRING"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        response = RecordingResponse([b"answered ", environ["QUERY_STRING"].encode()])
        self.responses.append(response)
        return response


def thread_per_request(app):
    """`app` with a thread of its own for each request, as Django's ASGI handler runs."""

    async def wrapped(scope, receive, send) -> None:
        async with ThreadSensitiveContext():
            await app(scope, receive, send)

    return wrapped


async def request(app, n: int) -> bytes:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": str(n).encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 40000 + n),
        "server": ("127.0.0.1", 8000),
    }
    return await answer(ApplicationCommunicator(app, scope))


async def answer(communicator: ApplicationCommunicator) -> bytes:
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(timeout=10)
    assert start["status"] == 200
    body = b""
    while True:
        message = await communicator.receive_output(timeout=10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def burst(app, count: int = 8) -> list[bytes]:
    tasks = []
    for n in range(count):
        tasks.append(asyncio.create_task(request(app, n)))
        await asyncio.sleep(0)  # they arrive one after another
    return await asyncio.gather(*tasks)


def test_a_burst_runs_on_one_thread_in_arrival_order():
    recording = RecordingApp()
    answers = asyncio.run(burst(http_on_one_thread(recording)))
    assert answers == [f"answered {n}".encode() for n in range(8)]
    assert len(set(recording.threads)) == 1
    assert recording.entered == [str(n) for n in range(8)]


def test_control_a_thread_per_request_is_seen_as_many_threads():
    # The harness tells threads apart: with a thread per request (Django's ASGI handler's
    # way) the same burst ran on eight.
    recording = RecordingApp()
    asyncio.run(burst(thread_per_request(http_on_one_thread(recording))))
    assert len(set(recording.threads)) == 8


def test_every_response_is_closed_so_django_finishes_the_request():
    recording = RecordingApp()
    asyncio.run(burst(http_on_one_thread(recording), count=3))
    assert [response.closed for response in recording.responses] == [True] * 3


def test_control_asgirefs_adapter_alone_never_closes_a_response():
    recording = RecordingApp()
    asyncio.run(burst(WsgiToAsgi(recording), count=3))
    assert [response.closed for response in recording.responses] == [False] * 3
