"""`manage.py bench <scenario>`: see bench/measure.py and BENCHMARKS.md."""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bench.data import require_migrated_database
from bench.processes import ServerDidNotStart

# scenario -> module providing HELP, add_arguments(parser) and run(out, **options); a
# module whose OWN_DATABASE is true makes the database it runs on, and needs none here.
SCENARIOS: dict[str, str] = {
    "capture": "bench.scenarios.capture",
    "checkin": "bench.scenarios.checkin",
    "dashboard": "bench.scenarios.dashboard",
    "fanout": "bench.scenarios.fanout",
    "faults": "bench.scenarios.faults",
    "presence": "bench.scenarios.presence",
    "rush": "bench.scenarios.rush",
    "scaleout": "bench.scenarios.scaleout",
    "waitlist": "bench.scenarios.waitlist",
}
NEEDS_DEVELOPMENT_REQUIREMENTS = (
    "bench needs the development requirements: pip install -r requirements-dev.txt"
)
# Packages of this repository: a module of theirs missing is a bug, not an install.
OWN_PACKAGES = {"bench", "common", "lodgetix", "tickets", "presence", "analytics"}


def scenario_module(name: str) -> ModuleType:
    """A scenario's module, imported only when the command runs: the scenarios' clients
    are development requirements, which a runtime-only install does not have."""
    try:
        return import_module(SCENARIOS[name])
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] in OWN_PACKAGES:
            raise
        raise CommandError(f"{NEEDS_DEVELOPMENT_REQUIREMENTS} ({error})") from error


class Command(BaseCommand):
    help = "Run a benchmark scenario and print its table (see BENCHMARKS.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        scenarios = parser.add_subparsers(
            dest="scenario", required=True, metavar="scenario", title="scenarios"
        )
        for name in SCENARIOS:
            module = scenario_module(name)
            module.add_arguments(
                scenarios.add_parser(name, help=module.HELP, description=module.HELP)
            )

    def run_from_argv(self, argv: list[str]) -> None:
        # Django prints a CommandError from handle() without a traceback, but not one from
        # building the parser, which imports the scenarios: say it the same way.
        try:
            self.create_parser(argv[0], argv[1])
        except CommandError as error:
            if "--traceback" in argv:
                raise
            self.stderr.write(f"{type(error).__name__}: {error}")
            sys.exit(error.returncode)
        super().run_from_argv(argv)

    def handle(self, *args, scenario: str, **options) -> None:
        module = scenario_module(scenario)
        if not getattr(module, "OWN_DATABASE", False):
            require_migrated_database()
        try:
            module.run(self.stdout, **options)
        except ServerDidNotStart as error:
            raise CommandError(str(error)) from error
