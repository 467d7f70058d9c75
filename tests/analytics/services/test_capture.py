"""analytics.services.capture without HTTP: reading, parsing and checking batches."""

from __future__ import annotations

import datetime
import io
import json

import pytest

from analytics.services import capture
from analytics.services.capture import Batch, Sender
from analytics.services.exceptions import BatchTooLarge, MalformedBatch
from tests.support.factories import interaction_event

NOW = datetime.datetime(2025, 5, 1, 9, 30, tzinfo=datetime.UTC)
SENDER = Sender(
    session_id="s" * 32, visitor_id="v" * 32, user_id=7, user_agent="Chromium", buyer_key="buyer"
)


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int = -1, /) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def event_at_now(**fields) -> dict:
    return interaction_event(**{"timestamp": NOW.isoformat(), **fields})


def check(*events, sent_at: datetime.datetime = NOW, received_at: datetime.datetime = NOW):
    return capture.check_batch(Batch(sent_at=sent_at, events=list(events)), SENDER, received_at)


def rejection_of(event) -> str:
    checked = check(event)
    assert checked.rows == []
    (rejection,) = checked.rejected
    assert rejection.index == 0
    return rejection.error


class TestReadBody:
    def test_a_declared_size_past_the_limit_is_refused_before_reading(self):
        stream = CountingStream(b"{}")
        with pytest.raises(BatchTooLarge, match="256 KB"):
            capture.read_body(stream, str(capture.MAX_BODY_BYTES + 1))
        assert stream.bytes_read == 0

    def test_an_undeclared_size_is_read_only_up_to_the_limit(self):
        stream = CountingStream(b"x" * (capture.MAX_BODY_BYTES * 4))
        with pytest.raises(BatchTooLarge):
            capture.read_body(stream, None)
        assert stream.bytes_read == capture.MAX_BODY_BYTES + 1

    def test_a_declared_size_that_lies_is_still_capped(self):
        stream = CountingStream(b"x" * (capture.MAX_BODY_BYTES + 10))
        with pytest.raises(BatchTooLarge):
            capture.read_body(stream, "12")
        assert stream.bytes_read == capture.MAX_BODY_BYTES + 1

    @pytest.mark.parametrize("declared", [None, "", "not-a-number", "2"])
    def test_a_body_within_the_limit_is_returned_whole(self, declared):
        assert capture.read_body(CountingStream(b"{}"), declared) == b"{}"

    def test_exactly_the_limit_is_allowed(self):
        body = b" " * capture.MAX_BODY_BYTES
        assert capture.read_body(CountingStream(body), str(len(body))) == body


class TestParseBatch:
    def test_a_batch_is_read_with_its_token(self):
        batch = capture.parse_batch(
            json.dumps(
                {"sent_at": "2025-05-01T09:30:00Z", "events": [1], "csrf_token": "t"}
            ).encode()
        )
        assert batch == Batch(sent_at=NOW, events=[1], csrf_token="t")

    def test_a_number_too_long_for_python_is_malformed_not_a_crash(self):
        body = b'{"sent_at": "2025-05-01T09:30:00Z", "events": [' + b"9" * 5000 + b"]}"
        with pytest.raises(MalformedBatch, match="can be stored"):
            capture.parse_batch(body)

    def test_a_naive_sent_at_is_malformed(self):
        with pytest.raises(MalformedBatch, match="time zone"):
            capture.parse_batch(b'{"sent_at": "2025-05-01T09:30:00", "events": []}')

    def test_too_many_events(self):
        body = json.dumps({"sent_at": "2025-05-01T09:30:00Z", "events": [{}] * 101}).encode()
        with pytest.raises(BatchTooLarge, match="100 events"):
            capture.parse_batch(body)


class TestCheckEvents:
    def test_a_good_event_becomes_a_row_with_the_sender_from_the_request(self):
        event = event_at_now(page_url="https://x.test/p")
        (row,) = check(event).rows
        assert str(row.uuid) == event["id"]
        assert (row.action, row.data, row.page_url) == (
            "field.change",
            event["data"],
            "https://x.test/p",
        )
        assert (row.session_id, row.visitor_id) == ("s" * 32, "v" * 32)
        assert (row.user_id, row.user_agent) == (7, "Chromium")
        assert row.client_timestamp == row.occurred_at == row.received_at == NOW
        assert json.loads(row.data_json) == event["data"]

    def test_missing_data_and_page_url_default_to_empty(self):
        event = event_at_now()
        del event["data"], event["page_url"]
        (row,) = check(event).rows
        assert (row.data, row.data_json, row.page_url) == ({}, "{}", "")

    def test_the_time_is_corrected_for_the_clock_of_the_sender(self):
        # The client's clock runs an hour slow: it says it sent the batch at 08:30.
        slow = NOW - datetime.timedelta(hours=1)
        event = event_at_now(timestamp=(slow - datetime.timedelta(seconds=20)).isoformat())
        (row,) = check(event, sent_at=slow).rows
        assert row.client_timestamp == slow - datetime.timedelta(seconds=20)
        assert row.occurred_at == NOW - datetime.timedelta(seconds=20)

    def test_a_clock_years_off_is_corrected_too(self):
        ancient = datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC)
        (row,) = check(event_at_now(timestamp=ancient.isoformat()), sent_at=ancient).rows
        assert row.occurred_at == NOW

    @pytest.mark.parametrize(
        ("event", "error"),
        [
            ("not an object", "must be a JSON object"),
            (event_at_now(id="nope"), "id must be a UUID"),
            (event_at_now(id=7), "id must be a UUID"),
            (event_at_now(id="x" * 100), "id must be a UUID"),
            (event_at_now(action="Page View"), "action must be"),
            (event_at_now(action="page..view"), "action must be"),
            (event_at_now(action=""), "action must be"),
            (event_at_now(action=None), "action must be"),
            (event_at_now(action="a" * 65), "action must be"),
            (event_at_now(data=[1]), "data must be a JSON object"),
            (event_at_now(data=None), "data must be a JSON object"),
            (event_at_now(data={"n": float("inf")}), "too large to store"),
            (event_at_now(timestamp="yesterday"), "timestamp must be"),
            (event_at_now(timestamp="2025-05-01T09:30:00"), "time zone"),
            (event_at_now(timestamp=12), "timestamp must be"),
            (event_at_now(timestamp="2025-05-01T09:30:00Z" + " " * 60), "timestamp must be"),
            (event_at_now(timestamp="2025-04-23T09:30:00Z"), "more than 7 days old"),
            (event_at_now(timestamp="2025-05-01T09:40:00Z"), "in the future"),
            (event_at_now(page_url=["/"]), "page_url must be"),
            (event_at_now(page_url="/" * 2049), "page_url must be"),
        ],
        ids=lambda value: value if isinstance(value, str) else None,
    )
    def test_each_bad_event_is_refused_with_its_reason(self, event, error):
        assert error in rejection_of(event)

    def test_the_longest_action_and_url_are_accepted(self):
        event = event_at_now(action="a" * 64, page_url="/" * 2048, timestamp=NOW.isoformat())
        assert len(check(event).rows) == 1

    def test_data_up_to_8_kb_as_utf8_is_accepted_and_past_it_refused(self):
        overhead = len('{"t":""}')
        fits = event_at_now(data={"t": "x" * (8192 - overhead)})
        # "é" is two bytes in UTF-8: the limit counts bytes, not characters.
        too_big = event_at_now(data={"t": "é" * 4093})
        assert len(check(fits).rows) == 1
        assert "8 KB" in rejection_of(too_big)

    def test_data_nested_16_deep_is_accepted_and_17_refused(self):
        def nested(depth):
            value: dict = {}
            for _ in range(depth - 1):
                value = {"a": value}
            return value

        assert len(check(event_at_now(data=nested(16))).rows) == 1
        deep = event_at_now(data=nested(17))
        assert "nested" in rejection_of(deep)
        lists = event_at_now(data={"a": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]})
        assert "nested" in rejection_of(lists)

    def test_a_timestamp_that_overflows_when_corrected_is_refused(self):
        event = event_at_now(timestamp="9999-12-31T23:00:00+00:00")
        sent_at = datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC)
        assert "out of range" in rejection_of_batch(event, sent_at=sent_at)

    def test_rejections_keep_their_indexes_among_good_events(self):
        good = event_at_now()
        checked = check(good, {"id": "bad"}, event_at_now(), 4)
        assert len(checked.rows) == 2
        assert [r.index for r in checked.rejected] == [1, 3]


def rejection_of_batch(event, *, sent_at) -> str:
    checked = check(event, sent_at=sent_at)
    (rejection,) = checked.rejected
    return rejection.error


class TestText:
    def test_storable_text_drops_nul_and_replaces_lone_surrogates(self):
        assert capture.storable_text("a\x00b\ud800c") == "ab\ufffdc"
        assert capture.storable_text("plain <b>html</b>") == "plain <b>html</b>"

    def test_the_sender_is_cleaned_and_hashed(self):
        sender = capture.sender(
            session_key="abc",
            csrf_cookie="def",
            user_id=None,
            user_agent="UA\x00" + "x" * 600,
            buyer_key=None,
        )
        assert sender.session_id == capture.session_id_of("abc")
        assert sender.visitor_id == capture.visitor_id_of("def")
        assert len({sender.session_id, sender.visitor_id, "abc", "def"}) == 4
        assert len(sender.user_agent) == capture.MAX_USER_AGENT_LENGTH
        assert "\x00" not in sender.user_agent

    def test_no_session_or_cookie_hashes_to_nothing(self):
        assert capture.session_id_of(None) == capture.visitor_id_of("") == ""
