import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.services import export


def moment(value: str) -> datetime.datetime:
    """An ISO-8601 date or date-time; without a zone it is read in the site's time zone."""
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"{value!r} is not a date or date-time: use e.g. 2025-05-01 or 2025-05-01T09:30."
        ) from None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class Command(BaseCommand):
    help = (
        "Write captured interactions that occurred since a moment as JSON lines or CSV, "
        "to standard output or a file."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--since", required=True, help="Date or date-time, e.g. 2025-05-01 or 2025-05-01T09:30."
        )
        parser.add_argument("--until", help="Stop before this date or date-time.")
        parser.add_argument("--format", choices=export.FORMATS, default="jsonl", dest="fmt")
        parser.add_argument("--output", help="Write to this file instead of standard output.")

    def handle(self, *args, since: str, until: str | None, fmt: str, output: str | None, **options):
        start = moment(since)
        end = moment(until) if until else None
        if end is not None and end <= start:
            raise CommandError("--until must be later than --since.")
        rows = export.interactions_since(start, end)
        if output is None:
            count = export.write(rows, self.stdout, fmt)
            destination = "standard output"
        else:
            try:
                with open(output, "w", encoding="utf-8", newline="") as stream:
                    count = export.write(rows, stream, fmt)
            except OSError as error:
                raise CommandError(f"Cannot write {output}: {error.strerror}.") from None
            destination = output
        # The summary goes to stderr so that stdout stays pure data.
        self.stderr.write(
            f"Exported {count:,} interaction(s) to {destination}.", style_func=self.style.SUCCESS
        )
