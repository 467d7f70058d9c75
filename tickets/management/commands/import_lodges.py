"""`manage.py import_lodges <csv>`: load grand lodges and lodges (docs/design.md §15).

The CSV has a header row naming at least `grand_lodge`, `abbreviation`, `name` and
`number` (`country` and `region`, of the grand lodge, may follow; other columns are
ignored). One row per lodge; a grand lodge is known by its abbreviation and created the
first time a row names it.

Idempotent: a lodge is known by (grand lodge, number), so a second run of the same file
changes nothing; a row whose lodge exists under another name renames it. Bad rows (a
field missing or too long, a grand lodge abbreviation given two names, one lodge number
listed twice with different names) are reported with their line numbers and skipped;
every good row lands. The exit status is 1 when any row was bad, so a script notices,
though the good rows are in.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tickets.models import GrandLodge, Lodge, normalised_lodge_name
from tickets.services.lodges import normalised_number

REQUIRED = ("grand_lodge", "abbreviation", "name", "number")
OPTIONAL = ("country", "region")
PROGRESS_EVERY = 1000


def _max_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


LIMITS = {
    "grand_lodge": _max_length(GrandLodge, "name"),
    "abbreviation": _max_length(GrandLodge, "abbreviation"),
    "country": _max_length(GrandLodge, "country"),
    "region": _max_length(GrandLodge, "region"),
    "name": _max_length(Lodge, "name"),
    "number": _max_length(Lodge, "number"),
}


@dataclass
class Report:
    grand_lodges_created: int = 0
    lodges_created: int = 0
    lodges_renamed: int = 0
    lodges_unchanged: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)
    new_lodges: list[Lodge] = field(default_factory=list)


class Command(BaseCommand):
    help = (
        "Load grand lodges and lodges from a CSV (columns grand_lodge, abbreviation, name, "
        "number, optional country, region). Safe to run again; bad rows are reported by "
        "line and skipped, and make the exit status 1."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("csv", help="Path of the CSV file (UTF-8).")

    def handle(self, *args, csv: str, **options) -> None:
        path = Path(csv)
        try:
            with path.open(newline="", encoding="utf-8-sig") as file:
                report = self._import(file)
        except FileNotFoundError:
            raise CommandError(f"No such file: {path}") from None
        except UnicodeDecodeError as error:
            raise CommandError(
                f"{path} is not UTF-8 text ({error.reason}); nothing imported."
            ) from None
        self.stdout.write(
            f"Grand lodges: {report.grand_lodges_created} created. Lodges: "
            f"{report.lodges_created} created, {report.lodges_renamed} renamed, "
            f"{report.lodges_unchanged} unchanged."
        )
        if report.bad:
            for line, reason in report.bad:
                self.stdout.write(f"line {line}: {reason}")
            raise CommandError(
                f"{len(report.bad)} bad {'row' if len(report.bad) == 1 else 'rows'} skipped "
                "(listed above); every other row was imported."
            )

    def _import(self, file) -> Report:
        reader = csv.DictReader(file)
        header = [name.strip() for name in reader.fieldnames or ()]
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise CommandError(
                f"The header row lacks {', '.join(missing)}; expected at least "
                f"{', '.join(REQUIRED)}. Nothing imported."
            )
        reader.fieldnames = header
        report = Report()
        grand_lodges = {gl.abbreviation.casefold(): gl for gl in GrandLodge.objects.all()}
        names_taken = {gl.name.casefold(): gl.abbreviation for gl in GrandLodge.objects.all()}
        lodges = {
            (lodge.grand_lodge_id, lodge.number.upper()): lodge for lodge in Lodge.objects.all()
        }
        seen: dict[tuple[str, str], tuple[int, str]] = {}
        with transaction.atomic():
            for count, row in enumerate(reader, start=1):
                if count % PROGRESS_EVERY == 0:
                    self.stderr.write(f"… {count} rows read")
                # Whitespace collapsed: a name split over lines in a spreadsheet cell is one name.
                values = {
                    name: " ".join((row.get(name) or "").split()) for name in (*REQUIRED, *OPTIONAL)
                }
                problem = self._problem(values, row)
                if problem is None:
                    problem = self._row(values, reader.line_num, report, grand_lodges, names_taken)
                if problem is None:
                    problem = self._lodge(
                        values, reader.line_num, report, grand_lodges, lodges, seen
                    )
                if problem is not None:
                    report.bad.append((reader.line_num, problem))
            Lodge.objects.bulk_create(report.new_lodges, batch_size=1000)
        return report

    @staticmethod
    def _problem(values: dict[str, str], row: dict) -> str | None:
        if None in row:
            return "more fields than the header names"
        empty = [name for name in REQUIRED if not values.get(name)]
        if empty:
            return f"{', '.join(empty)} missing"
        too_long = [name for name, value in values.items() if len(value) > LIMITS[name]]
        if too_long:
            name = too_long[0]
            return f"{name} longer than {LIMITS[name]} characters"
        if not normalised_number(values["number"]):
            return "number missing"
        return None

    @staticmethod
    def _row(values, line, report, grand_lodges, names_taken) -> str | None:
        """The row's grand lodge, created if new; a problem if it contradicts one known."""
        key = values["abbreviation"].casefold()
        known = grand_lodges.get(key)
        if known is not None:
            if known.name.casefold() != values["grand_lodge"].casefold():
                return (
                    f"grand lodge {values['abbreviation']} is already named "
                    f"“{known.name}”, not “{values['grand_lodge']}”"
                )
            return None
        other = names_taken.get(values["grand_lodge"].casefold())
        if other is not None:
            return f"“{values['grand_lodge']}” is already the grand lodge {other}"
        created = GrandLodge.objects.create(
            name=values["grand_lodge"],
            abbreviation=values["abbreviation"],
            country=values.get("country", ""),
            region=values.get("region", ""),
        )
        grand_lodges[key] = created
        names_taken[created.name.casefold()] = created.abbreviation
        report.grand_lodges_created += 1
        return None

    @staticmethod
    def _lodge(values, line, report, grand_lodges, lodges, seen) -> str | None:
        grand_lodge = grand_lodges[values["abbreviation"].casefold()]
        number = normalised_number(values["number"])
        name = values["name"]
        first = seen.get((grand_lodge.abbreviation, number))
        if first is not None:
            first_line, first_name = first
            if first_name != name:
                return (
                    f"{grand_lodge.abbreviation} No. {number} is “{first_name}” on line "
                    f"{first_line}, here “{name}”"
                )
            report.lodges_unchanged += 1
            return None
        seen[(grand_lodge.abbreviation, number)] = (line, name)
        lodge = lodges.get((grand_lodge.pk, number))
        if lodge is None:
            # Inserted together at the end (bulk_create skips save(): search_name set here).
            lodges[(grand_lodge.pk, number)] = new = Lodge(
                grand_lodge=grand_lodge,
                name=name,
                number=number,
                search_name=normalised_lodge_name(name),
            )
            report.new_lodges.append(new)
            report.lodges_created += 1
        elif lodge.name != name:
            lodge.name = name
            lodge.save(update_fields=["name"])
            report.lodges_renamed += 1
        else:
            report.lodges_unchanged += 1
        return None
