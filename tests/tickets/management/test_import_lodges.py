"""`manage.py import_lodges`: good rows land, bad ones are reported by line, and a second
run changes nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tickets.models import GrandLodge, Lodge

pytestmark = pytest.mark.django_db

GOOD_AND_BAD = """grand_lodge,abbreviation,country,region,name,number
United Grand Lodge of NSW and ACT,UGLNSW&ACT,Australia,NSW,Lodge Harmony,5
United Grand Lodge of NSW and ACT,UGLNSW&ACT,Australia,NSW,Lodge Antiquity,1
United Grand Lodge of Victoria,UGLV,Australia,VIC,Lodge Unity,12
United Grand Lodge of Victoria,UGLV,Australia,VIC,,13
Some Other Name,UGLV,Australia,VIC,Lodge Concord,14
United Grand Lodge of NSW and ACT,UGLNSW&ACT,Australia,NSW,Lodge Discord,5
United Grand Lodge of NSW and ACT,UGLNSW&ACT,Australia,NSW,"Lodge
Multiline",7
United Grand Lodge of Victoria,UGLV,Australia,VIC,Lodge Carlton,No. 30
United Grand Lodge of Victoria,UGLV,Australia,VIC,Lodge Too,31,extra
"""


def run(path) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("import_lodges", str(path), stdout=out, stderr=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def snapshot() -> list[tuple]:
    return list(
        Lodge.objects.order_by("pk").values_list(
            "pk", "grand_lodge__abbreviation", "name", "number"
        )
    )


def test_good_rows_land_bad_ones_are_reported_by_line_and_a_second_run_changes_nothing(tmp_path):
    path = tmp_path / "lodges.csv"
    path.write_text(GOOD_AND_BAD, encoding="utf-8")

    out, error = run(path)
    assert error is not None  # bad rows make the exit status non-zero
    assert "4 bad rows" in str(error)
    assert "line 5: name missing" in out
    assert "line 6: grand lodge UGLV is already named" in out
    assert "line 7: UGLNSW&ACT No. 5 is “Lodge Harmony” on line 2, here “Lodge Discord”" in out
    # Line numbers are the file's lines: the quoted name on lines 8-9 counts two.
    assert "line 11: more fields than the header names" in out
    assert sorted(Lodge.objects.values_list("name", "number")) == [
        ("Lodge Antiquity", "1"),
        ("Lodge Carlton", "30"),
        ("Lodge Harmony", "5"),
        ("Lodge Multiline", "7"),
        ("Lodge Unity", "12"),
    ]
    assert GrandLodge.objects.get(abbreviation="UGLV").region == "VIC"
    assert "Lodges: 5 created" in out

    before = (snapshot(), list(GrandLodge.objects.order_by("pk").values_list()))
    out, _ = run(path)
    assert "Grand lodges: 0 created. Lodges: 0 created, 0 renamed, 5 unchanged." in out
    assert (snapshot(), list(GrandLodge.objects.order_by("pk").values_list())) == before


def test_a_clean_file_exits_zero_and_a_changed_name_renames(tmp_path):
    path = tmp_path / "lodges.csv"
    path.write_text(
        "grand_lodge,abbreviation,name,number\nGL of Scotland,GLoS,Lodge Mother Kilwinning,0\n"
    )
    out, error = run(path)
    assert error is None
    assert "1 created" in out
    path.write_text(
        "grand_lodge,abbreviation,name,number\nGL of Scotland,GLoS,Mother Kilwinning,0\n"
    )
    out, error = run(path)
    assert error is None
    assert "1 renamed" in out
    assert Lodge.objects.get().search_name == "mother kilwinning"


def test_a_file_without_the_columns_imports_nothing(tmp_path):
    path = tmp_path / "lodges.csv"
    path.write_text("lodge,no\nHarmony,5\n")
    _, error = run(path)
    assert "lacks grand_lodge, abbreviation, name, number" in str(error)
    assert not GrandLodge.objects.exists()


def test_a_missing_file_is_a_clear_error(tmp_path):
    _, error = run(tmp_path / "nope.csv")
    assert "No such file" in str(error)


def test_a_file_that_is_not_utf8_imports_nothing(tmp_path):
    path = tmp_path / "lodges.csv"
    rows = "".join(f"GL of Scotland,GLoS,Lodge {n},{n}\n" for n in range(2000))
    # The bad byte comes late, after rows that would have imported: they roll back.
    path.write_bytes(
        f"grand_lodge,abbreviation,name,number\n{rows}".encode()
        + "GL of Scotland,GLoS,Lodge Ça,6\n".encode("latin-1")
    )
    _, error = run(path)
    assert "is not UTF-8 text" in str(error)
    assert not Lodge.objects.exists()
    assert not GrandLodge.objects.exists()
