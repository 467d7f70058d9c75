"""`manage.py bench`: its scenarios, a clear refusal without the development requirements,
and the product apps never importing bench."""

from __future__ import annotations

import ast
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from bench.management.commands import bench
from tests.support.servers import embedded_command_env

PRODUCT_PACKAGES = ("tickets", "presence", "analytics", "common", "lodgetix")


@pytest.fixture
def runtime_only_install(monkeypatch):
    """As if httpx (a development requirement) were not installed."""
    monkeypatch.setitem(sys.modules, "httpx", None)  # `import httpx` now fails
    for name in bench.SCENARIOS.values():
        monkeypatch.delitem(sys.modules, name, raising=False)


def test_every_scenario_has_help_and_arguments():
    for name in bench.SCENARIOS:
        module = bench.scenario_module(name)
        assert module.HELP
        assert callable(module.add_arguments)
        assert callable(module.run)


@pytest.mark.usefixtures("runtime_only_install")
def test_without_the_development_requirements_it_says_what_to_install():
    with pytest.raises(CommandError, match="bench needs the development requirements: pip"):
        call_command("bench", "rush", "--seats", "10", stdout=StringIO())


@pytest.mark.usefixtures("runtime_only_install")
def test_from_the_command_line_that_is_a_message_not_a_traceback(capsys):
    with pytest.raises(SystemExit) as exited:
        bench.Command().run_from_argv(["manage.py", "bench", "rush", "--seats", "10"])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("CommandError: bench needs the development requirements")
    assert "requirements-dev.txt" in err
    assert "Traceback" not in err


def test_on_a_database_not_yet_migrated_it_says_to_migrate(tmp_path):
    # A new SQLite file, as on a fresh checkout before `make run`: the scenario's first
    # write would fail with "no such table" and a traceback.
    env = embedded_command_env(tmp_path / "new.sqlite3")
    done = subprocess.run(
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "bench", "rush",
         "--embedded", "--buyers", "2", "--seats", "1"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith("CommandError: This database has "), done.stderr
    assert "unapplied migration(s), the first " in done.stderr
    assert "run `python manage.py migrate` first" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_the_rigs_scenarios_need_no_database_here():
    owning = {
        name
        for name in bench.SCENARIOS
        if getattr(bench.scenario_module(name), "OWN_DATABASE", False)
    }
    assert owning == {"faults", "scaleout"}


def test_the_product_apps_import_nothing_from_bench():
    offenders = []
    for package in PRODUCT_PACKAGES:
        for path in sorted((Path(settings.BASE_DIR) / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module or ""]
                else:
                    continue
                if any(name == "bench" or name.startswith("bench.") for name in names):
                    offenders.append(f"{path.relative_to(settings.BASE_DIR)}:{node.lineno}")
    assert offenders == []
