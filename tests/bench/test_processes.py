"""bench/processes.py: the one way a bench or a test starts a server and waits for it."""

from __future__ import annotations

import sys

import pytest

from bench.processes import (
    ServerDidNotStart,
    ServerProcess,
    database_url,
    free_port,
    serve_command,
)


def static_server() -> ServerProcess:
    """A server that answers GET / with 200 at once: the standard library's."""
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    return ServerProcess("http.server", command, port=port, start_timeout=20)


def test_a_server_is_ready_once_it_answers_and_stops_on_request():
    server = static_server()
    try:
        assert server.start() is server
        assert server.running
        assert server.answers()
        assert server.url == f"http://127.0.0.1:{server.port}"
        server.stop()
        assert not server.running
        assert not server.answers()
        # Stopped servers start again, on the same port and log.
        server.start()
        assert server.answers()
        assert server.output().count("GET / HTTP") >= 2
    finally:
        server.close()
    assert not server.log.exists()


def test_as_a_context_manager_it_stops_and_removes_its_log():
    with static_server() as server:
        assert server.answers()
        log = server.log
    assert not server.running
    assert not log.exists()


def test_a_server_that_exits_says_so_with_its_output():
    server = ServerProcess(
        "doomed",
        [sys.executable, "-c", "print('no database', flush=True); raise SystemExit(3)"],
        port=free_port(),
    )
    with pytest.raises(ServerDidNotStart, match=r"(?s)doomed exited with status 3.*no database"):
        server.__enter__()
    assert not server.log.exists()


def test_a_server_that_never_answers_is_killed_at_the_deadline():
    server = ServerProcess(
        "mute", [sys.executable, "-c", "import time; time.sleep(60)"], port=free_port()
    )
    try:
        with pytest.raises(ServerDidNotStart, match="mute did not answer"):
            server.start(timeout=0.5)
        assert not server.running
    finally:
        server.close()


def test_the_production_shape_command_is_serve_on_the_port():
    assert serve_command(8123)[1:] == ["-m", "deployment.serve", "--port", "8123"]


def test_database_url_points_children_at_the_parents_database(tmp_path):
    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "x.sqlite3")}
    assert database_url(sqlite) == f"sqlite:///{tmp_path / 'x.sqlite3'}"
    postgres = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "test_lodgetix",
        "USER": "root",
        "PASSWORD": "p@ss/word",
        "HOST": "",
        "PORT": 5432,
    }
    assert database_url(postgres) == "postgres://root:p%40ss/word@127.0.0.1:5432/test_lodgetix"
