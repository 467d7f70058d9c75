"""Property: whatever JSON (or bytes) reaches the capture endpoint, it answers 202, 400,
413 or 429 - never a 5xx - and whatever it accepted is in the table.

On the services run this goes to PostgreSQL, which refuses what SQLite lets through (NUL
in text and jsonb, lone surrogates, infinite numbers): exactly what the endpoint must
clean or refuse before the insert.
"""

from __future__ import annotations

import datetime
import json
import uuid

import pytest
from django.test import Client
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from analytics.models import Interaction

pytestmark = pytest.mark.django_db

URL = "/analytics/events/"

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from(["\u0000", "\ud800", "<script>alert(1)</script>", "\\u0000", ""])
)
any_json = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
moments = st.datetimes(
    min_value=datetime.datetime(1, 1, 2),
    max_value=datetime.datetime(9999, 12, 30),
    timezones=st.sampled_from([datetime.UTC, datetime.timezone(datetime.timedelta(hours=-11))])
    | st.none(),
).map(lambda moment: moment.isoformat())
near_now = st.integers(min_value=-8 * 86400, max_value=60).map(
    lambda seconds: (
        datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    ).isoformat()
)
uuids = st.uuids().map(str) | st.sampled_from([str(uuid.UUID(int=1))])  # repeats too
actions = st.from_regex(r"[a-z]{1,10}(\.[a-z_]{1,10}){0,2}", fullmatch=True)
# Numbers no column stores, written in as text after serialising: 1e400 is valid JSON that
# Python reads as infinity (that event is refused); NaN is not JSON (the batch is).
HUGE, NAN = "__huge_number__", "__not_a_number__"
data = st.integers(0, 9).flatmap(
    lambda n: st.just({"n": HUGE}) if n == 0 else st.dictionaries(st.text(max_size=8), any_json)
)
plausible_events = st.fixed_dictionaries(
    {"id": uuids, "action": actions, "timestamp": near_now, "data": data},
    optional={"page_url": st.text(max_size=40) | st.just("/functions/x/")},
)


def wild_events(data):
    return (
        st.fixed_dictionaries(
            {},
            optional={
                "id": uuids | any_json,
                "action": actions | any_json,
                "data": data | any_json,
                "timestamp": near_now | moments | any_json,
                "page_url": st.text(max_size=40) | any_json,
            },
        )
        | any_json
    )


plausible_batches = st.fixed_dictionaries(
    {
        "sent_at": st.builds(lambda: datetime.datetime.now(datetime.UTC).isoformat()),
        "events": st.lists(plausible_events | wild_events(data), min_size=1, max_size=8),
    }
)
wild_batches = st.fixed_dictionaries(
    {},
    optional={
        "sent_at": near_now | moments | any_json,
        "events": st.lists(wild_events(data | st.just({"n": NAN})), max_size=8) | any_json,
        "csrf_token": any_json,
    },
)


def as_json(document) -> str:
    return json.dumps(document).replace(f'"{HUGE}"', "1e400").replace(f'"{NAN}"', "NaN")


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=plausible_batches.map(as_json)
    | wild_batches.map(as_json)
    | any_json.map(as_json)
    | st.binary(max_size=300)
)
def test_random_json_never_gets_a_5xx(body, settings_override):
    # The test client skips CSRF (tested elsewhere): here every body reaches the checks.
    response = Client().post(URL, body, content_type="application/json")

    assert response.status_code in {202, 400, 413}, response.content
    event(f"answered {response.status_code}")  # --hypothesis-show-statistics shows the mix
    if response.status_code == 202:
        answer = response.json()
        assert set(answer) == {"accepted", "duplicates", "rejected"}
        assert all(set(r) == {"index", "error"} for r in answer["rejected"])
        stored = Interaction.objects.filter(
            received_at__gte=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
        )
        assert stored.count() >= answer["accepted"]
        event("stored new events" if answer["accepted"] else "stored no new event")
        event("found duplicates" if answer["duplicates"] else "found no duplicate")
    else:
        assert response.json()["error"]


@pytest.fixture
def settings_override(settings):
    # Hundreds of batches from one address within a minute: well past any honest rate.
    settings.ANALYTICS_BATCHES_PER_MINUTE = 10**9
    return settings
