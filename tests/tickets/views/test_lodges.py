"""The lodge search of the attendee and contact forms (GET /lodges/search/)."""

from __future__ import annotations

import secrets

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.support.html import elements_by_id
from tests.support.http import body_of
from tickets.models import GrandLodge, Lodge
from tickets.services import lodges

pytestmark = pytest.mark.django_db

URL = "/lodges/search/"


@pytest.fixture(autouse=True)
def listed():
    cache.clear()
    nsw = GrandLodge.objects.create(name="UGL of NSW and ACT", abbreviation="UGLNSW&ACT")
    vic = GrandLodge.objects.create(name="UGL of Victoria", abbreviation="UGLV")
    return [
        Lodge.objects.create(grand_lodge=nsw, name="Lodge Harmony", number="5"),
        Lodge.objects.create(grand_lodge=vic, name="Harmony Lodge", number="55"),
        Lodge.objects.create(grand_lodge=nsw, name="Lodge Antiquity", number="1"),
    ]


def test_the_url_is_the_contract():
    assert reverse("tickets:lodge-search") == URL


def test_options_name_each_lodge_and_end_with_not_listed(client, listed):
    harmony, harmony_vic, _ = listed
    found = elements_by_id(body_of(client.get(URL, {"q": "harm", "listbox": "lb"}), 200))
    assert found[f"lb-{harmony.pk}"].attrs["data-number"] == "5"
    assert found[f"lb-{harmony_vic.pk}"].attrs["role"] == "option"
    assert "Not listed" in found["lb-not-listed"].text
    assert len([key for key in found if key.startswith("lb-")]) == 3


def test_the_field_value_serves_as_the_query(client, listed):
    found = elements_by_id(body_of(client.get(URL, {"attendees-0-lodge_name": "antiq"}), 200))
    assert f"lodge-listbox-{listed[2].pk}" in found


def test_a_number_finds_its_lodge(listed):
    assert lodges.search("No. 5") == [listed[0]]
    assert lodges.search("harmony 55") == []  # "55" is not "No. 55": the name must match
    assert lodges.search("harmony no 55") == [listed[1]]


def test_typed_text_is_matched_however_it_is_written(listed):
    harmony = listed[0]
    for name, number in [
        ("Lodge Harmony", "5"),
        ("harmony", "No. 5"),
        ("HARMONY LODGE", "#5"),
        ("Lodge Harmony No. 5", ""),
        ("Lodge  harmony, No 5", ""),
    ]:
        assert lodges.match_lodge(name, number) == harmony, (name, number)
    assert lodges.match_lodge("Lodge Harmony", "") is None  # two lodges of that name
    assert lodges.match_lodge("Lodge Nowhere", "5") is None


def test_a_bad_listbox_id_falls_back(client):
    page = body_of(client.get(URL, {"q": "harm", "listbox": '"><script>'}), 200)
    assert "<script>" not in page
    assert 'id="lodge-listbox-' in page


def test_too_many_searches_from_one_address_are_429(client, settings):
    settings.LODGE_SEARCHES_PER_MINUTE = 3
    # An address of its own: with Redis the counts outlive a test (and a run) for a minute.
    address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    for _ in range(3):
        assert client.get(URL, {"q": "harm"}, REMOTE_ADDR=address).status_code == 200
    refused = client.get(URL, {"q": "harm"}, REMOTE_ADDR=address)
    assert refused.status_code == 429
    assert "Retry-After" in refused
