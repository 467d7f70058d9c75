"""common/one_thread.py: HTTP through a WSGI app on one thread, in arrival order, each
response closed."""

from __future__ import annotations

import asyncio
import contextlib
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


def scope_of(n: int) -> dict:
    return {
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


async def request(app, n: int) -> bytes:
    return await answer(ApplicationCommunicator(app, scope_of(n)))


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
    asyncio.run(burst(thread_per_request(WsgiToAsgi(recording))))
    assert len(set(recording.threads)) == 8


def test_every_response_is_closed_so_django_finishes_the_request():
    recording = RecordingApp()
    asyncio.run(burst(http_on_one_thread(recording), count=3))
    assert [response.closed for response in recording.responses] == [True] * 3


def test_control_asgirefs_adapter_alone_never_closes_a_response():
    recording = RecordingApp()
    asyncio.run(burst(WsgiToAsgi(recording), count=3))
    assert [response.closed for response in recording.responses] == [False] * 3


class Timeline:
    """A WSGI app noting when each request entered it, beside when the server finished
    sending the first answer (the test writes that)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.events: list[str] = []
        self.second_entered = asyncio.Event()

    def __call__(self, environ, start_response):
        n = environ["QUERY_STRING"]
        self.events.append(f"{n} entered")
        if n == "1":
            self.loop.call_soon_threadsafe(self.second_entered.set)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"answered " + n.encode()]


async def keep_alive(adapt) -> list[str]:
    """Two requests on one kept-alive connection: daphne starts the second while it sends
    the first's answer, so the second's task is created inside the first's `send` and
    inherits its context - asgiref's note of the thread waiting on that send included.
    The first's `send` then waits a little for the second to begin, as a slow socket
    would: it must not begin before the first is answered."""
    timeline = Timeline(asyncio.get_running_loop())
    app = adapt(timeline)
    follow_ups: list[asyncio.Task] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    async def send_first(message: dict) -> None:
        if message["type"] == "http.response.start":
            follow_ups.append(asyncio.create_task(app(scope_of(1), receive, send_second)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(timeline.second_entered.wait(), 1)
        elif not message.get("more_body"):
            timeline.events.append("0 answered")

    async def send_second(message: dict) -> None:
        pass

    await asyncio.wait_for(app(scope_of(0), receive, send_first), 10)
    await asyncio.wait_for(follow_ups[0], 10)
    return timeline.events


def test_a_request_started_inside_anothers_send_waits_its_turn():
    events = asyncio.run(keep_alive(http_on_one_thread))
    assert events == ["0 entered", "0 answered", "1 entered"]


def test_control_asgirefs_adapter_alone_runs_it_inside_the_first_answer():
    # Handed to the thread waiting on the first send, the second request runs there, in
    # the middle of the first one's answer (or fails, once that thread has moved on).
    events = asyncio.run(keep_alive(WsgiToAsgi))
    assert events.index("1 entered") < events.index("0 answered")
