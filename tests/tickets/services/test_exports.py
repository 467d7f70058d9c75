"""Exports of an event (tickets/services/exports.py, manage.py export_attendees and the
admin actions): read back with csv, openpyxl and pypdf."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.support.door import confirmed_individuals, set_needs, tickets_of
from tests.support.factories import confirm, make_event, make_ticket_type, staff_user
from tickets.services import checkin, exports

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def banquet():
    ticket_type = make_ticket_type(make_event(name="Grand Banquet"), name="Banquet seat")
    named = confirmed_individuals(
        ticket_type, "Alan", "Zoe", last_name="Adams", lodge_name="Lodge Antiquity"
    )
    set_needs(named, 2, ["vegan"], special="Wheelchair access")
    confirmed_individuals(ticket_type, FORMULA, buyer="b2", last_name="Brown")
    confirm(ticket_type, 3, buyer="delegation")  # three unnamed seats
    checkin.check_in(ticket_type.event, code=tickets_of(named)[0].code, door="North")
    return ticket_type


def test_attendees_csv_has_a_row_per_seat_and_escapes_formulas(banquet):
    out = io.StringIO()
    assert exports.attendees_csv(banquet.event, out) == 6
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 6
    first_names = [r["first_name"] for r in rows]
    assert "'" + FORMULA in first_names
    assert FORMULA not in first_names
    adams = [r for r in rows if r["last_name"] == "Adams"]
    assert [r["checked_in"] for r in adams] == ["yes", ""]
    assert adams[1]["dietary_needs"] == "Vegan"
    assert sum(1 for r in rows if not r["last_name"]) == 3  # unnamed seats


def test_attendees_xlsx_reads_back(banquet):
    out = io.BytesIO()
    exports.attendees_xlsx(banquet.event, out)
    sheet = load_workbook(io.BytesIO(out.getvalue())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == exports.ATTENDEE_COLUMNS
    assert len(rows) == 1 + 6
    cells = [cell for row in rows for cell in row if isinstance(cell, str)]
    assert "'" + FORMULA in cells
    assert not any(c.startswith("=") for c in cells)


def test_door_list_pdf_parses_and_is_alphabetical(banquet):
    out = io.BytesIO()
    assert exports.door_list_pdf(banquet.event, out) == 6
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(out.getvalue())).pages)
    assert "Door list" in text
    assert "Grand Banquet" in text
    assert text.index("Adams, Alan") < text.index("Adams, Zoe") < text.index("Brown")
    assert "Banquet seat" in text
    assert "Payment pending" in text


def test_dietary_summary_csv(banquet):
    out = io.StringIO()
    exports.dietary_csv(banquet.event, out)
    rows = {r["need"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert rows["Vegan"]["expected"] == "1"
    assert rows["Vegan"]["arrived"] == "0"
    assert rows["Special: Wheelchair access"]["expected"] == "1"
    assert rows["Unnamed seats"]["expected"] == "3"


def test_the_command_writes_files_and_counts(banquet, tmp_path, capsys):
    for format, name in (("csv", "a.csv"), ("xlsx", "a.xlsx"), ("pdf", "a.pdf")):
        call_command(
            "export_attendees", event=banquet.event_id, format=format, output=tmp_path / name
        )
        assert "6 of 6 rows" in capsys.readouterr().err
    assert len(list(csv.reader((tmp_path / "a.csv").open()))) == 7
    assert load_workbook(tmp_path / "a.xlsx").active.max_row == 7
    assert len(PdfReader(tmp_path / "a.pdf").pages) >= 1
    with pytest.raises(CommandError, match="No event"):
        call_command("export_attendees", event=999_999, format="csv")


def test_admin_actions_export_one_event(client, banquet):
    url = reverse("admin:tickets_event_changelist")
    client.force_login(staff_user("clerk", "view_event"))
    form = {"action": "export_attendees_csv", "_selected_action": [banquet.event_id]}
    response = client.post(url, form)
    assert response.status_code != 200 or "text/csv" not in response["Content-Type"]
    client.force_login(staff_user("organiser", "view_event", "view_registration"))
    response = client.post(url, form)
    assert response["Content-Type"] == "text/csv"
    assert len(list(csv.reader(io.StringIO(response.content.decode())))) == 7
    listing = client.get(url).content.decode()
    assert reverse("tickets:door", args=[banquet.event_id]) in listing
    assert reverse("tickets:kitchen", args=[banquet.event_id]) in listing
    pdf = client.post(url, {**form, "action": "export_door_list"})
    assert pdf["Content-Type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(pdf.content)).pages) >= 1
