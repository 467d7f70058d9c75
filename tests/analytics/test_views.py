"""POST /analytics/events/ (docs/design.md §8) through Django's full request stack, CSRF
checks on, on whichever database the run has."""

from __future__ import annotations

import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from analytics.models import Interaction
from analytics.services import capture
from tests.support.factories import interaction_batch, interaction_event, make_function

pytestmark = pytest.mark.django_db

URL = "/analytics/events/"


class Visitor:
    """A browser: a session, a CSRF cookie and the token its page carries."""

    def __init__(self, remote_addr: str = "127.0.0.1") -> None:
        self.client = Client(enforce_csrf_checks=True, REMOTE_ADDR=remote_addr)
        self.client.get(reverse("tickets:function-list"))
        self.token = self.client.cookies["csrftoken"].value

    def post(self, payload, *, raw: bytes | str | None = None, **extra):
        body = raw if raw is not None else json.dumps(payload)
        headers = {"HTTP_X_CSRFTOKEN": self.token, **extra}
        return self.client.post(URL, body, content_type="application/json", **headers)

    def beacon(self, payload: dict):
        """As navigator.sendBeacon sends: text/plain, the token in the body, no header."""
        body = json.dumps({**payload, "csrf_token": self.token})
        return self.client.post(URL, body, content_type="text/plain;charset=UTF-8")

    @property
    def session_id(self) -> str:
        return capture.session_id_of(self.client.session.session_key)

    @property
    def visitor_id(self) -> str:
        return capture.visitor_id_of(self.client.cookies["csrftoken"].value)


@pytest.fixture
def visitor() -> Visitor:
    visitor = Visitor()
    visitor.client.session  # noqa: B018 - a session, as a buyer has once they hold tickets
    return visitor


def test_a_valid_batch_is_stored_once_even_when_posted_twice(visitor):
    batch = interaction_batch([interaction_event() for _ in range(3)])

    first = visitor.post(batch)
    second = visitor.post(batch)

    assert first.status_code == 202
    assert first.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    assert second.status_code == 202
    assert second.json() == {"accepted": 0, "duplicates": 3, "rejected": []}
    assert Interaction.objects.count() == 3
    stored = Interaction.objects.get(uuid=batch["events"][0]["id"])
    assert (stored.action, stored.data, stored.source) == ("field.change", {"field": "first_name"},
                                                           "client")  # fmt: skip


def test_an_event_repeated_within_a_batch_counts_as_a_duplicate(visitor):
    event = interaction_event()
    response = visitor.post(interaction_batch([event, event, interaction_event()]))
    assert response.json() == {"accepted": 2, "duplicates": 1, "rejected": []}


def test_one_bad_event_is_rejected_by_index_and_the_rest_are_stored(visitor):
    events = [interaction_event() for _ in range(5)]
    events[2]["action"] = "Not An Action!"

    response = visitor.post(interaction_batch(events))

    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (4, 0)
    assert [r["index"] for r in body["rejected"]] == [2]
    assert "action" in body["rejected"][0]["error"]
    assert Interaction.objects.count() == 4
    assert not Interaction.objects.filter(uuid=events[2]["id"]).exists()


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"\xff\xfe{}",  # not UTF-8
        b"[]",
        b'{"sent_at": "2025-05-01T00:00:00Z"}',
        b'{"sent_at": "2025-05-01T00:00:00Z", "events": {}}',
        b'{"events": []}',
        b'{"sent_at": "yesterday", "events": []}',
        b'{"sent_at": "2025-05-01T00:00:00Z", "events": [], "csrf_token": 7}',
        b'{"sent_at": "2025-05-01T00:00:00Z", "events": [{"data": {"n": NaN}}]}',
        b"[" * 100_000,
    ],
    ids=lambda body: body[:30].decode("utf-8", "replace"),
)
def test_an_unreadable_body_is_400_and_stores_nothing(visitor, body):
    response = visitor.post(None, raw=body)
    assert response.status_code == 400
    assert response.json()["error"]
    assert response.json()["code"] == "malformed_batch"
    assert Interaction.objects.count() == 0


def test_a_body_over_256_kb_is_413_without_being_parsed(visitor, monkeypatch):
    def must_not_parse(body):
        raise AssertionError("parsed a body that was too large")

    monkeypatch.setattr(capture, "parse_batch", must_not_parse)
    event = interaction_event(data={"padding": "x" * 7000})
    batch = interaction_batch([event] * 45)  # about 300 KB
    body = json.dumps(batch)
    assert len(body) > 300_000

    response = visitor.post(None, raw=body)

    assert response.status_code == 413
    assert "256 KB" in response.json()["error"]
    assert response.json()["code"] == "batch_too_large"


def test_101_events_are_413_and_100_are_accepted(visitor):
    too_many = visitor.post(interaction_batch([interaction_event() for _ in range(101)]))
    just_right = visitor.post(interaction_batch([interaction_event() for _ in range(100)]))

    assert too_many.status_code == 413
    assert "100 events" in too_many.json()["error"]
    assert too_many.json()["code"] == "batch_too_large"
    assert just_right.status_code == 202
    assert just_right.json()["accepted"] == 100


def test_nul_bytes_and_html_are_stored_safely(visitor, admin_client):
    script = "<script>alert('owned')</script>"
    event = interaction_event(
        data={"note": "a\u0000b", "\u0000key": script, "lone": "\ud800", "deep": [{"x": "\u0000"}]},
        page_url=f"http://127.0.0.1:8000/functions/{script}/\u0000",
    )

    response = visitor.post(None, raw=json.dumps(interaction_batch([event])))

    assert response.json()["accepted"] == 1
    stored = Interaction.objects.get()
    assert stored.data == {"note": "ab", "key": script, "lone": "\ufffd", "deep": [{"x": ""}]}
    assert stored.page_url == f"http://127.0.0.1:8000/functions/{script}/"
    page = admin_client.get(reverse("admin:analytics_interaction_changelist"))
    assert page.status_code == 200
    assert script not in page.content.decode()
    assert "&lt;script&gt;" in page.content.decode()


def test_past_the_per_session_rate_the_answer_is_429(visitor, settings):
    settings.ANALYTICS_BATCHES_PER_MINUTE = 2
    batch = interaction_batch([interaction_event()])

    answers = [visitor.post(batch) for _ in range(3)]
    another_session = Visitor(remote_addr="10.9.8.7").post(batch)

    assert [a.status_code for a in answers] == [202, 202, 429]
    assert 1 <= int(answers[2]["Retry-After"]) <= 60
    assert "Too many" in answers[2].json()["error"]
    assert answers[2].json()["code"] == "too_many_batches"
    assert another_session.status_code == 202


def test_a_made_up_session_cookie_does_not_buy_a_fresh_allowance(visitor, settings):
    settings.ANALYTICS_BATCHES_PER_MINUTE = 2
    batch = interaction_batch([interaction_event()])
    assert [visitor.post(batch).status_code for _ in range(2)] == [202, 202]

    # The limit is keyed on the CSRF secret Django validated and the address, not on the
    # session (or visitor) cookie the client sends.
    visitor.client.cookies[settings.SESSION_COOKIE_NAME] = "made-up-session-key"
    assert visitor.post(batch).status_code == 429


def test_fresh_csrf_cookies_from_one_address_share_its_allowance(settings):
    settings.ANALYTICS_BATCHES_PER_MINUTE_PER_IP = 3
    batch = interaction_batch([interaction_event()])

    # A client minting a new CSRF cookie (and token) for every post: each is a new
    # browser, but all come from one address.
    answers = [Visitor(remote_addr="10.1.1.1").post(batch).status_code for _ in range(4)]
    elsewhere = Visitor(remote_addr="10.2.2.2").post(batch)

    assert answers == [202, 202, 202, 429]
    assert elsewhere.status_code == 202


def test_session_user_and_user_agent_come_from_the_request_not_the_body(visitor):
    user = get_user_model().objects.create_user("mason", password="a-long-test-password")
    visitor.client.force_login(user)
    forged = {"session_id": "forged", "user": 999, "user_id": 999, "user_agent": "forged"}
    event = interaction_event(**forged)

    response = visitor.post(interaction_batch([event], **forged), HTTP_USER_AGENT="Chromium/130")

    assert response.status_code == 202
    stored = Interaction.objects.get()
    assert stored.user_id == user.pk
    assert stored.session_id == visitor.session_id
    assert stored.visitor_id == visitor.visitor_id
    assert len(stored.session_id) == 32
    assert visitor.client.session.session_key not in stored.session_id  # hashed, never raw
    assert stored.user_agent == "Chromium/130"


def test_a_first_time_visitor_is_linked_by_their_csrf_cookie_and_gets_no_session():
    # A session started here could race the one the hold form starts and lose the buyer
    # their registration: the endpoint links a newcomer's events by the CSRF cookie.
    newcomer = Visitor(remote_addr="10.1.2.3")

    first = newcomer.post(interaction_batch([interaction_event()]))
    second = newcomer.post(interaction_batch([interaction_event()]))

    assert (first.status_code, second.status_code) == (202, 202)
    assert "sessionid" not in newcomer.client.cookies
    assert "sessionid" not in first.cookies
    stored = set(Interaction.objects.values_list("session_id", "visitor_id"))
    assert stored == {("", newcomer.visitor_id)}
    assert len(newcomer.visitor_id) == 32


def test_a_beacon_carries_its_csrf_token_in_the_body(visitor):
    response = visitor.beacon(interaction_batch([interaction_event()]))
    assert response.status_code == 202
    assert Interaction.objects.count() == 1


@pytest.mark.parametrize(
    ("token", "origin"),
    [
        (None, None),  # no token at all
        ("x" * 64, None),  # a wrong token
        ("page", "https://evil.example"),  # the right token, posted from another site
    ],
)
def test_cross_site_and_tokenless_posts_are_refused(visitor, token, origin):
    batch = interaction_batch([interaction_event()])
    if token == "page":
        batch["csrf_token"] = visitor.token
    elif token:
        batch["csrf_token"] = token
    extra = {"HTTP_ORIGIN": origin} if origin else {}

    response = visitor.client.post(URL, json.dumps(batch), content_type="text/plain", **extra)

    assert response.status_code == 403
    assert Interaction.objects.count() == 0


def test_only_post_is_allowed(visitor):
    assert visitor.client.get(URL).status_code == 405


def test_the_page_url_ties_an_event_to_its_function(visitor):
    function = make_function(slug="grand-proclamation")
    event = interaction_event(page_url=f"http://127.0.0.1:8000{function.get_absolute_url()}")
    visitor.post(interaction_batch([event]))
    assert Interaction.objects.get().function_id == function.pk


def test_every_page_loads_the_tracker_with_the_endpoint_and_a_token(client):
    make_function(slug="grand-proclamation")
    page = client.get("/functions/grand-proclamation/").content.decode()
    assert page.count("analytics/tracker.js") == 1
    assert f'data-endpoint="{URL}"' in page
    assert 'data-csrf-token="' in page


def test_the_tracker_script_is_served(client):
    response = client.get("/static/analytics/tracker.js")
    assert response.status_code == 200
    assert b"sendBeacon" in b"".join(response.streaming_content)


def test_events_are_keyed_by_their_uuid_whatever_its_spelling(visitor):
    event_id = uuid.uuid4()
    visitor.post(interaction_batch([interaction_event(id=str(event_id))]))
    response = visitor.post(interaction_batch([interaction_event(id=event_id.hex.upper())]))
    assert response.json()["duplicates"] == 1
