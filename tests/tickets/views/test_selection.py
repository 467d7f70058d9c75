"""The selection page's hold POST (tickets/views/holds.py): `quantity_<ticket_type_id>`
per line, all lines held in one transaction or none, refusals named line by line, the
typed quantities kept; and a lodge served in tables."""

from __future__ import annotations

import datetime
import re
import uuid
from decimal import Decimal

import pytest

from tests.support.factories import hold, make_event, make_function, make_ticket_type, refreshed
from tests.support.html import elements_by_id, elements_with, refusal_code
from tests.support.http import hold_url
from tickets.models import Hold, Registration

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_address(settings):
    # The rate limit and the per-address cap count one address; these tests are not about them.
    settings.HOLD_RATE_LIMIT_PER_IP = None
    settings.HOLD_SEATS_PER_IP = None


@pytest.fixture
def grand_installation():
    function = make_function(name="Grand Installation")
    ceremony = make_ticket_type(make_event(function, name="Ceremony"), name="Ceremony")
    banquet = make_ticket_type(
        make_event(function, name="Banquet"), name="Banquet", price=Decimal("1250.00")
    )
    brunch = make_ticket_type(
        make_event(function, name="Brunch"), name="Ladies' Brunch", sold_by_table=False
    )
    return function, ceremony, banquet, brunch


def post_selection(client, function, lines: dict, **fields):
    data = {f"quantity_{tt.pk}": str(n) for tt, n in lines.items()}
    return client.post(hold_url(function), {**data, **fields})


def nothing_held(*ticket_types) -> bool:
    return not Hold.objects.exists() and all(refreshed(tt).reserved == 0 for tt in ticket_types)


class TestMultiLineHold:
    def test_every_line_is_held_by_one_post(self, client, grand_installation):
        function, ceremony, banquet, brunch = grand_installation
        response = post_selection(client, function, {ceremony: 2, banquet: 2, brunch: 1})
        assert response.status_code == 303
        registration = Registration.objects.get()
        assert response["Location"].endswith(f"/registrations/{registration.pk}/tickets/")
        held = {h.ticket_type_id: h.seats for h in registration.holds.all()}
        assert held == {ceremony.pk: 2, banquet.pk: 2, brunch.pk: 1}
        assert [refreshed(tt).reserved for tt in (ceremony, banquet, brunch)] == [2, 2, 1]

    def test_blank_and_zero_lines_are_not_wanted(self, client, grand_installation):
        function, ceremony, banquet, brunch = grand_installation
        response = post_selection(client, function, {ceremony: 1, banquet: 0, brunch: ""})
        assert response.status_code == 303
        assert list(Hold.objects.values_list("ticket_type_id", flat=True)) == [ceremony.pk]

    def test_a_refused_line_holds_nothing_and_each_refused_line_is_named(
        self, client, grand_installation
    ):
        function, ceremony, banquet, brunch = grand_installation
        # Others hold all but 3 banquet seats and every brunch seat.
        for n in range(10):
            hold(banquet, 10 if n < 9 else 7, buyer=f"crowd-{n}")
            hold(brunch, 10, buyer=f"crowd-b-{n}")
        before = Hold.objects.count()

        response = post_selection(client, function, {ceremony: 2, banquet: 4, brunch: 1})

        assert response.status_code == 409
        assert refusal_code(response) == "selection_refused"
        page = response.content.decode()
        lines = {
            e.attrs["data-ticket-type"]: e
            for e in elements_with(page, "data-code")
            if "data-ticket-type" in e.attrs
        }
        assert set(lines) == {str(banquet.pk), str(brunch.pk)}
        assert "Only 3 seats are left for Banquet; you asked for 4." in page
        assert "Ladies&#x27; Brunch has just sold out." in page
        assert Hold.objects.count() == before  # not even the ceremony line
        assert refreshed(ceremony).reserved == 0
        # Still on the function page, with what was typed.
        found = elements_by_id(page)
        assert found[f"quantity-{ceremony.pk}"].attrs["value"] == "2"
        assert found[f"quantity-{banquet.pk}"].attrs["value"] == "4"
        assert found[f"quantity-{banquet.pk}"].attrs["aria-invalid"] == "true"

    @pytest.mark.parametrize(
        "bad",
        [
            {"quantity_{ceremony}": "-1"},
            {"quantity_{ceremony}": "two"},
            {"quantity_{ceremony}": "1.5"},
            {"quantity_abc": "1"},
            {"quantity_{ceremony}": "0", "quantity_{banquet}": ""},  # nothing selected
            {},  # nothing at all
            {"quantity_{ceremony}": "1", "registration_type": "pirate"},
        ],
    )
    def test_bad_fields_are_400_and_hold_nothing(self, client, grand_installation, bad):
        function, ceremony, banquet, brunch = grand_installation
        data = {
            k.replace("{ceremony}", str(ceremony.pk)).replace("{banquet}", str(banquet.pk)): v
            for k, v in bad.items()
        }
        response = client.post(hold_url(function), data)
        assert response.status_code == 400
        assert "hold-errors" in elements_by_id(response.content.decode())
        assert nothing_held(ceremony, banquet, brunch)

    def test_a_ticket_type_of_another_function_is_400(self, client, grand_installation):
        function, ceremony, _banquet, _brunch = grand_installation
        elsewhere = make_ticket_type(name="Elsewhere")
        response = post_selection(client, function, {ceremony: 1, elsewhere: 1})
        assert response.status_code == 400
        assert refusal_code(response) == "selection_refused"
        codes = {
            e.attrs["data-ticket-type"]: e.attrs["data-code"]
            for e in elements_with(response.content.decode(), "data-ticket-type")
            if "data-code" in e.attrs
        }
        assert codes == {str(elsewhere.pk): "unknown_ticket_type"}
        assert nothing_held(ceremony, elsewhere)

    def test_a_quantity_past_the_real_limit_says_the_real_limit_and_keeps_it(
        self, client, grand_installation
    ):
        function, ceremony, _banquet, _brunch = grand_installation
        response = post_selection(client, function, {ceremony: 11})
        assert response.status_code == 400
        page = response.content.decode()
        assert "Choose between 1 and 10 tickets of Ceremony; you asked for 11." in page
        assert "1000" not in page
        assert "1,000" not in page
        assert elements_by_id(page)[f"quantity-{ceremony.pk}"].attrs["value"] == "11"
        assert nothing_held(ceremony)

    def test_the_single_line_form_still_works(self, client, grand_installation):
        function, _ceremony, banquet, _brunch = grand_installation
        response = client.post(hold_url(function), {"ticket_type": banquet.pk, "quantity": 3})
        assert response.status_code == 303
        assert refreshed(banquet).reserved == 3

    def test_a_lines_select_button_holds_that_line_alone(self, client, grand_installation):
        function, ceremony, banquet, _brunch = grand_installation
        # The browser sends every quantity field plus the pressed button's ticket_type.
        response = client.post(
            hold_url(function),
            {
                f"quantity_{ceremony.pk}": "4",
                f"quantity_{banquet.pk}": "2",
                "ticket_type": banquet.pk,
            },
        )
        assert response.status_code == 303
        assert list(Hold.objects.values_list("ticket_type_id", "seats")) == [(banquet.pk, 2)]


class TestFromTheWizard:
    def test_lines_join_the_open_registration_and_a_refusal_stays_on_the_step(
        self, client, grand_installation
    ):
        function, ceremony, banquet, brunch = grand_installation
        assert post_selection(client, function, {ceremony: 1}).status_code == 303
        registration = Registration.objects.get()
        step = f"/registrations/{registration.pk}/tickets/"
        page = client.get(step).content.decode()
        assert f'name="registration" value="{registration.pk}"' in page

        added = post_selection(
            client, function, {banquet: 2, brunch: 1}, registration=str(registration.pk)
        )
        assert added.status_code == 303
        assert registration.holds.count() == 3

        refused = post_selection(
            client, function, {banquet: 9, brunch: 2}, registration=str(registration.pk)
        )
        assert refused.status_code == 400  # 2 + 9 banquet is past the limit of 10
        page = refused.content.decode()
        assert "step-heading" in elements_by_id(page)  # the wizard's step, not the function page
        assert "at most 10 tickets of Banquet; you hold 2 and asked for 9 more." in page
        assert elements_by_id(page)[f"quantity-{banquet.pk}"].attrs["value"] == "9"
        assert refreshed(brunch).reserved == 1

    def test_someone_elses_registration_field_is_ignored(self, client, grand_installation):
        function, ceremony, _banquet, _brunch = grand_installation
        other = hold(ceremony, 1, buyer="someone-else").registration
        response = post_selection(client, function, {ceremony: 99}, registration=str(other.pk))
        assert response.status_code == 400
        assert "step-heading" not in elements_by_id(response.content.decode())
        response = post_selection(client, function, {ceremony: 99}, registration=str(uuid.uuid4()))
        assert response.status_code == 400


class TestLodge:
    def test_the_page_counts_tables_and_disables_below_one(self, client):
        function = make_function()
        roomy = make_ticket_type(make_event(function), name="Banquet", capacity=45)
        scarce = make_ticket_type(make_event(function), name="Dinner", capacity=9)
        by_seat = make_ticket_type(
            make_event(function), name="Brunch", capacity=9, sold_by_table=False
        )
        page = client.get(function.get_absolute_url() + "?as=lodge").content.decode()
        found = elements_by_id(page)
        assert found[f"availability-{roomy.pk}"].text == "4 tables left"
        assert found[f"availability-{scarce.pk}"].text == "Less than a table left"
        assert "disabled" in found[f"buy-{scarce.pk}"].attrs
        assert "disabled" not in found[f"buy-{roomy.pk}"].attrs
        # Not sold by the table: offered to the lodge by the seat.
        assert found[f"availability-{by_seat.pk}"].text == "Only 9 left!"
        assert "disabled" not in found[f"buy-{by_seat.pk}"].attrs
        assert re.search(rf'<label for="quantity-{by_seat.pk}">Tickets</label>', page)
        assert re.search(rf'<label for="quantity-{roomy.pk}">Tables</label>', page)

    def test_a_refusal_speaks_in_tables(self, client):
        function = make_function()
        banquet = make_ticket_type(make_event(function), name="Banquet", capacity=25)
        brunch = make_ticket_type(
            make_event(function), name="Brunch", capacity=30, sold_by_table=False
        )
        response = post_selection(
            client, function, {banquet: 3, brunch: 4}, registration_type="lodge"
        )
        assert response.status_code == 409
        page = response.content.decode()
        assert "Only 2 tables left for Banquet; you asked for 3." in page
        assert nothing_held(banquet, brunch)
        assert elements_by_id(page)[f"availability-{banquet.pk}"].text == "2 tables left"

        held = post_selection(client, function, {banquet: 2, brunch: 4}, registration_type="lodge")
        assert held.status_code == 303
        lines = {h.ticket_type_id: (h.seats, h.tables) for h in Hold.objects.all()}
        assert lines == {banquet.pk: (20, 2), brunch.pk: (4, None)}


def test_money_has_thousands_separators(client, grand_installation):
    function, _ceremony, _banquet, _brunch = grand_installation
    page = client.get(function.get_absolute_url()).content.decode()
    assert "$1,250.00" in page


def test_events_in_date_order_with_jump_links(client):
    function = make_function()
    late = make_event(
        function,
        name="Late",
        position=0,
        starts_at=function.starts_at + datetime.timedelta(hours=5),
        ends_at=function.starts_at + datetime.timedelta(hours=6),
    )
    early = make_event(function, name="Early", position=1)
    make_ticket_type(late)
    make_ticket_type(early)
    page = client.get(function.get_absolute_url()).content.decode()
    assert page.index(f'href="#event-{early.pk}"') < page.index(f'href="#event-{late.pk}"')
    assert page.index(f'id="event-{early.pk}"') < page.index(f'id="event-{late.pk}"')
