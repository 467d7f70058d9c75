"""analytics_prune and analytics_export."""

from __future__ import annotations

import csv
import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from analytics.models import Interaction
from tests.support.factories import make_function, make_interaction

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def days_ago(n: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=n)


class TestPrune:
    def test_deletes_what_is_older_than_n_days_in_batches_with_progress(self):
        for age in (40, 35, 31, 29, 1):
            make_interaction(occurred_at=days_ago(age))

        out, _ = run("analytics_prune", "--days", "30", "--batch-size", "2")

        assert not Interaction.objects.filter(occurred_at__lt=days_ago(30)).exists()
        assert Interaction.objects.count() == 2
        assert "3 interaction(s) occurred before" in out
        assert "deleted 2/3" in out
        assert "deleted 3/3" in out
        assert "Deleted 3 interaction(s)." in out

    def test_nothing_to_prune(self):
        make_interaction()
        out, _ = run("analytics_prune", "--days", "1")
        assert "Deleted 0 interaction(s)." in out
        assert Interaction.objects.count() == 1

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--days", "0"], "at least 1"),
            (["--days", "-5"], "at least 1"),
            (["--days", "ten"], "invalid int value"),
            ([], "--days"),
            (["--days", "3", "--batch-size", "0"], "--batch-size must be at least 1"),
        ],
    )
    def test_bad_arguments_are_refused_and_delete_nothing(self, args, message):
        make_interaction(occurred_at=days_ago(400))
        with pytest.raises(CommandError, match=message):
            run("analytics_prune", *args)
        assert Interaction.objects.count() == 1


class TestExport:
    @pytest.fixture
    def interactions(self):
        function = make_function()
        old = make_interaction(action="page.view", occurred_at=days_ago(10))
        recent = make_interaction(
            action="field.change",
            data={"field": "é<b>"},
            function=function,
            occurred_at=days_ago(1),
        )
        newest = make_interaction(action="ticket.select", occurred_at=days_ago(0.5))
        return old, recent, newest

    def test_jsonl_to_stdout_since_a_date(self, interactions):
        _, recent, newest = interactions
        since = (timezone.localdate() - datetime.timedelta(days=2)).isoformat()

        out, err = run("analytics_export", "--since", since)

        lines = [json.loads(line) for line in out.splitlines()]
        assert [line["uuid"] for line in lines] == [str(recent.uuid), str(newest.uuid)]
        assert lines[0]["data"] == {"field": "é<b>"}
        assert lines[0]["function_id"] == recent.function_id
        assert datetime.datetime.fromisoformat(lines[0]["occurred_at"]) == recent.occurred_at
        assert "Exported 2 interaction(s) to standard output." in err

    def test_csv_to_a_file_with_an_until(self, interactions, tmp_path):
        old, recent, _ = interactions
        target = tmp_path / "interactions.csv"
        since = days_ago(20).isoformat()
        until = days_ago(0.75).isoformat()

        out, err = run("analytics_export", "--since", since, "--until", until, "--format", "csv",
                       "--output", str(target))  # fmt: skip

        assert out == ""
        with target.open(newline="", encoding="utf-8") as stream:
            rows = list(csv.DictReader(stream))
        assert [row["uuid"] for row in rows] == [str(old.uuid), str(recent.uuid)]
        assert json.loads(rows[1]["data"]) == {"field": "é<b>"}
        assert rows[0]["function_id"] == ""
        assert f"Exported 2 interaction(s) to {target}." in err

    def test_csv_cells_that_would_be_formulas_are_quoted(self, tmp_path):
        formula = '=HYPERLINK("http://evil.example","Refund")'
        make_interaction(
            occurred_at=days_ago(1), page_url=formula, user_agent="@SUM(A1)", action="form.submit"
        )
        target = tmp_path / "interactions.csv"

        run("analytics_export", "--since", days_ago(2).isoformat(), "--format", "csv",
            "--output", str(target))  # fmt: skip

        with target.open(newline="", encoding="utf-8") as stream:
            (row,) = list(csv.DictReader(stream))
        assert row["page_url"] == "'" + formula
        assert row["user_agent"] == "'@SUM(A1)"
        assert row["action"] == "form.submit"

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--since", "last tuesday"], "is not a date"),
            (["--since", "2025-05-02", "--until", "2025-05-01"], "--until must be later"),
            (["--since", "2025-05-01", "--until", "soon"], "is not a date"),
            (["--since", "2025-05-01", "--format", "xml"], "invalid choice"),
            ([], "--since"),
            (["--since", "2025-05-01", "--output", "/nonexistent/dir/out.jsonl"], "Cannot write"),
        ],
    )
    def test_bad_arguments_are_refused(self, args, message):
        with pytest.raises(CommandError, match=message):
            run("analytics_export", *args)
