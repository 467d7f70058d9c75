"""`manage.py bench <scenario>`: see bench/measure.py and BENCHMARKS.md."""

from __future__ import annotations

from importlib import import_module

from django.core.management.base import BaseCommand, CommandParser

# scenario -> module providing HELP, add_arguments(parser) and run(out, **options)
SCENARIOS: dict[str, str] = {
    "capture": "bench.scenarios.capture",
    "fanout": "bench.scenarios.fanout",
    "presence": "bench.scenarios.presence",
    "rush": "bench.scenarios.rush",
}


class Command(BaseCommand):
    help = "Run a benchmark scenario and print its table (see BENCHMARKS.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        scenarios = parser.add_subparsers(
            dest="scenario", required=True, metavar="scenario", title="scenarios"
        )
        for name, module_path in SCENARIOS.items():
            module = import_module(module_path)
            module.add_arguments(
                scenarios.add_parser(name, help=module.HELP, description=module.HELP)
            )

    def handle(self, *args, scenario: str, **options) -> None:
        import_module(SCENARIOS[scenario]).run(self.stdout, **options)
