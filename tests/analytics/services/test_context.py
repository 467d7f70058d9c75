"""Which function, event and registration an interaction is about - decided by the server."""

from __future__ import annotations

import datetime

import pytest

from analytics.services import capture, context
from analytics.services.capture import Batch, Sender
from tests.support.factories import (
    hold,
    interaction_event,
    make_event,
    make_function,
    make_ticket_type,
)

pytestmark = pytest.mark.django_db

NOW = datetime.datetime.now(datetime.UTC)


def rows_for(*events, buyer_key=None):
    batch = Batch(sent_at=NOW, events=[interaction_event(**e) for e in events])
    rows = capture.check_batch(batch, Sender("", "", None, "", buyer_key), NOW).rows
    context.attach_references(rows, buyer_key=buyer_key)
    return rows


def test_a_function_page_names_its_function():
    function = make_function(slug="grand-proclamation")
    (row,) = rows_for({"page_url": "http://127.0.0.1:8000/functions/grand-proclamation/?as=lodge"})
    assert (row.function_id, row.event_id, row.registration_id) == (function.pk, None, None)


def test_a_registration_page_names_the_registration_only_for_its_own_buyer():
    registration = hold(make_ticket_type(), buyer="owner").registration
    url = f"http://127.0.0.1:8000/registrations/{registration.pk}/attendees/"

    (own,) = rows_for({"page_url": url}, buyer_key="owner")
    (other,) = rows_for({"page_url": url}, buyer_key="someone-else")
    (anonymous,) = rows_for({"page_url": url})

    assert (own.registration_id, own.function_id) == (registration.pk, registration.function_id)
    assert (other.registration_id, other.function_id) == (None, None)
    assert anonymous.registration_id is None


def test_a_ticket_type_in_the_data_names_its_event_and_function():
    event = make_event()
    tt = make_ticket_type(event)
    (selected, unknown, not_an_id) = rows_for(
        {"action": "ticket.select", "data": {"ticket_type": tt.pk}},
        {"action": "ticket.select", "data": {"ticket_type": 10**9}},
        {"action": "ticket.select", "data": {"ticket_type": True}},
    )
    assert (selected.event_id, selected.function_id) == (event.pk, event.function_id)
    assert (unknown.event_id, not_an_id.event_id) == (None, None)


@pytest.mark.parametrize(
    "page_url",
    [
        "",
        "http://127.0.0.1:8000/functions/no-such-function/",
        "http://127.0.0.1:8000/admin/",
        "http://127.0.0.1:8000/nowhere/at/all/",
        "http://[::1/broken",
        "not a url",
    ],
)
def test_other_pages_name_nothing(page_url):
    make_function(slug="grand-proclamation")
    (row,) = rows_for({"page_url": page_url})
    assert (row.function_id, row.event_id, row.registration_id) == (None, None, None)


def test_one_query_per_kind_for_a_whole_batch(django_assert_num_queries):
    make_function(slug="grand-proclamation")
    tt = make_ticket_type()
    url = "http://127.0.0.1:8000/functions/grand-proclamation/"
    events = [{"page_url": url, "data": {"ticket_type": tt.pk}} for _ in range(50)]
    with django_assert_num_queries(2):  # functions, ticket types
        rows_for(*events)


class TestFunctionIds:
    def test_a_slug_is_looked_up_once_then_remembered(self, django_assert_num_queries):
        function = make_function(slug="banquet")
        ids = context.FunctionIds(ttl=60)
        with django_assert_num_queries(1):
            assert ids.of({"banquet", "nope"}) == {"banquet": function.pk}
        with django_assert_num_queries(0):
            assert ids.of({"banquet", "nope"}) == {"banquet": function.pk}
            assert ids.of(set()) == {}

    def test_it_looks_again_after_the_ttl(self, monkeypatch, django_assert_num_queries):
        make_function(slug="banquet")
        clock = [1000.0]
        monkeypatch.setattr(context.time, "monotonic", lambda: clock[0])
        ids = context.FunctionIds(ttl=60)
        ids.of({"banquet"})
        clock[0] += 59
        with django_assert_num_queries(0):
            ids.of({"banquet"})
        clock[0] += 2
        with django_assert_num_queries(1):
            ids.of({"banquet"})

    def test_saving_or_deleting_a_function_forgets_at_once(self):
        function = make_function(slug="banquet")
        assert context.function_ids.of({"banquet"}) == {"banquet": function.pk}
        function.slug = "gala"
        function.save()
        assert context.function_ids.of({"banquet", "gala"}) == {"gala": function.pk}
        function.delete()
        assert context.function_ids.of({"gala"}) == {}

    def test_memory_is_bounded(self):
        ids = context.FunctionIds(max_entries=3)
        ids.of({"a", "b", "c"})
        ids.of({"d"})
        assert len(ids._known) == 1
