"""`manage.py export_attendees --event <id> --format csv|xlsx|pdf [--output FILE]`.

csv and xlsx: the attendee list; pdf: the printable door list; dietary-csv: the kitchen's
summary. Without --output the file goes to standard output. A count of rows written goes
to standard error as it goes (large functions take a while).
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tickets.models import Event
from tickets.services import exports


class Command(BaseCommand):
    help = "Export an event's attendees (CSV, XLSX), door list (PDF) or dietary summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--event", type=int, required=True, help="The event's id.")
        parser.add_argument("--format", required=True, choices=sorted(exports.FORMATS))
        parser.add_argument("--output", help="File to write (default: standard output).")

    def handle(self, *args, event: int, format: str, output: str | None, **options) -> None:
        found = Event.objects.select_related("function").filter(pk=event).first()
        if found is None:
            raise CommandError(f"No event with id {event}.")
        write, binary, _, _ = exports.FORMATS[format]

        def progress(done: int, total: int) -> None:
            self.stderr.write(f"\r{done} of {total} rows", ending="")

        if output:
            try:
                target = open(output, "wb" if binary else "w", newline=None if binary else "")  # noqa: SIM115
            except OSError as error:
                raise CommandError(f"Cannot write {output}: {error.strerror}.") from error
        else:
            target = sys.stdout.buffer if binary else sys.stdout
        try:
            rows = write(found, target, progress)
        finally:
            if output:
                target.close()
        self.stderr.write(f"\n{rows} rows of {found} written to {output or 'standard output'}.")
