"""common/admission.py: at most N HTTP requests inside the app at once, first come first
served; other scopes pass untouched."""

from __future__ import annotations

import asyncio

import pytest

from common.admission import HttpAdmission


class RecordingApp:
    """An ASGI app that notes how many requests are inside it and in what order they came
    in, and holds each until the test lets it go."""

    def __init__(self) -> None:
        self.inside = 0
        self.most_inside = 0
        self.entered: list[int] = []
        self.release = asyncio.Event()

    async def __call__(self, scope, receive, send) -> None:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        self.entered.append(scope.get("n"))
        try:
            await self.release.wait()
        finally:
            self.inside -= 1


async def burst(limit: int | None, scope_type: str = "http", count: int = 10) -> RecordingApp:
    app = RecordingApp()
    wrapped = app if limit is None else HttpAdmission(app, limit)
    tasks = []
    for n in range(count):
        tasks.append(asyncio.create_task(wrapped({"type": scope_type, "n": n}, None, None)))
        await asyncio.sleep(0)  # they arrive one after another
    for _ in range(5):
        await asyncio.sleep(0)
    app.release.set()
    await asyncio.gather(*tasks)
    return app


@pytest.mark.parametrize("limit", [1, 2])
def test_a_burst_goes_in_a_few_at_a_time_in_order(limit):
    app = asyncio.run(burst(limit))
    assert app.most_inside == limit
    assert app.entered == list(range(10))


def test_control_without_admission_the_whole_burst_is_inside_at_once():
    # The harness sees a burst: without the wrapper all ten are inside together.
    assert asyncio.run(burst(None)).most_inside == 10


def test_websockets_pass_untouched():
    assert asyncio.run(burst(1, scope_type="websocket")).most_inside == 10


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        HttpAdmission(RecordingApp(), 0)
