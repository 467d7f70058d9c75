"""Packages (docs/design.md §15): held all or nothing through the one hold path, priced as
one line, lapsed, released and confirmed as one; availability min(floor(available/seats))."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.support.factories import (
    attendee,
    hold,
    hold_package,
    make_event,
    make_function,
    make_package,
    make_ticket_type,
    reach_payment,
    refreshed,
)
from tickets.models import SEATS_PER_LODGE_TABLE, Hold, PackageHold, Registration
from tickets.services import holds, inventory, packages
from tickets.services import registrations as wizard
from tickets.services.availability import availability_by_ticket_type
from tickets.services.exceptions import (
    NotEligible,
    PackageNotOffered,
    PackageOverlap,
    PackageUnavailable,
    QuantityOutOfRange,
    SalesClosed,
    UnknownPackage,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def ceremony_and_banquet():
    function = make_function()
    ceremony = make_ticket_type(make_event(function), name="Ceremony", capacity=10)
    banquet = make_ticket_type(make_event(function), name="Banquet", capacity=5)
    package = make_package([(ceremony, 1), (banquet, 1)], price=Decimal("195.00"))
    return package, ceremony, banquet


def availability_of(package) -> packages.PackageAvailability:
    offer = next(o for o in packages.offers_of(package.function) if o.package_id == package.pk)
    ticket_types = [i.ticket_type for i in package.items.select_related("ticket_type__event")]
    for tt in ticket_types:
        tt.refresh_from_db()
        tt.event.function = package.function
    return packages.package_availability(offer, availability_by_ticket_type(ticket_types))


def test_a_package_holds_every_item_in_one_registration(ceremony_and_banquet):
    package, ceremony, banquet = ceremony_and_banquet
    held = hold_package(package, 2)
    assert sorted((h.ticket_type_id, h.seats) for h in held) == [(ceremony.pk, 2), (banquet.pk, 2)]
    assert len({h.registration_id for h in held}) == 1
    line = PackageHold.objects.get()
    assert (line.quantity, line.unit_price) == (2, Decimal("195.00"))
    assert all(h.package_hold_id == line.pk and h.unit_price == 0 for h in held)
    assert (refreshed(ceremony).reserved, refreshed(banquet).reserved) == (2, 2)


def test_too_few_seats_of_one_item_holds_nothing(ceremony_and_banquet):
    package, ceremony, banquet = ceremony_and_banquet
    hold(banquet, 4, buyer="someone")  # one banquet seat left
    with pytest.raises(PackageUnavailable) as refused:
        hold_package(package, 2)
    assert refused.value.available == 1
    assert "Only 1 of" in refused.value.message
    assert refreshed(ceremony).reserved == 0  # the ceremony seat was not kept
    assert not PackageHold.objects.exists()
    assert not Hold.objects.filter(registration__buyer_key="buyer-1").exists()


def test_availability_is_the_least_whole_number_of_packages(ceremony_and_banquet):
    package, ceremony, banquet = ceremony_and_banquet
    assert availability_of(package).available == 5
    hold(banquet, 2, buyer="a")
    hold(ceremony, 6, buyer="b")
    state = availability_of(package)
    assert (state.available, state.state) == (3, "in_stock")  # min(4 // 1, 3 // 1)
    hold(banquet, 3, buyer="c")
    assert availability_of(package).state == "sold_out"


def test_two_seats_per_package_round_down():
    function = make_function()
    banquet = make_ticket_type(make_event(function), capacity=7)
    package = make_package([(banquet, 2)])
    assert availability_of(package).available == 3


def test_a_lodge_package_counts_its_tables_as_seats():
    function = make_function()
    banquet = make_ticket_type(make_event(function), capacity=25, max_tables_per_order=1)
    package = make_package(
        [(banquet, SEATS_PER_LODGE_TABLE)],
        price=Decimal("1150.00"),
        registration_types=[Registration.Type.LODGE],
    )
    assert availability_of(package).available == 2
    # Two tables although the ticket type lets a lodge hold only one: the package's limit.
    (held,) = hold_package(package, 2, registration_type=Registration.Type.LODGE)
    assert (held.seats, held.tables) == (20, 2)
    assert refreshed(banquet).reserved == 20
    assert availability_of(package).state == "sold_out"  # 5 seats: not a table
    with pytest.raises(PackageNotOffered) as refused:
        hold_package(package, 1, buyer="individual")
    # The ticket types' rule and wording (services.eligibility), under the package's code.
    assert refused.value.code == "package_not_offered"
    assert refused.value.message == f"{package.name} is for lodge registrations only."


def test_package_limits_and_window(ceremony_and_banquet):
    package, _, _ = ceremony_and_banquet
    with pytest.raises(QuantityOutOfRange):
        hold_package(package, package.max_per_order + 1)
    package.sales_end = timezone.now() - datetime.timedelta(minutes=1)
    package.save()
    with pytest.raises(SalesClosed):
        hold_package(package, 1)
    with pytest.raises(UnknownPackage):
        packages.hold_package(
            holds.PackageRequest(
                buyer_key="b", function=make_function(), package_id=package.pk, quantity=1
            )
        )


def test_holding_the_package_again_grows_its_line(ceremony_and_banquet):
    package, ceremony, _ = ceremony_and_banquet
    hold_package(package, 1)
    hold_package(package, 2)
    line = PackageHold.objects.get()
    assert line.quantity == 3
    assert sorted(Hold.objects.values_list("seats", flat=True)) == [3, 3]
    with pytest.raises(QuantityOutOfRange):
        hold_package(package, package.max_per_order)
    assert refreshed(ceremony).reserved == 3


def test_a_ticket_type_is_held_on_its_own_or_in_a_package_not_both(ceremony_and_banquet):
    package, ceremony, banquet = ceremony_and_banquet
    hold(ceremony, 1)
    with pytest.raises(PackageOverlap):
        hold_package(package, 1)
    assert refreshed(banquet).reserved == 0
    hold_package(package, 1, buyer="other")
    with pytest.raises(PackageOverlap):
        hold(ceremony, 1, buyer="other")


def test_removing_one_item_gives_back_the_whole_package(ceremony_and_banquet):
    package, ceremony, banquet = ceremony_and_banquet
    first, _ = hold_package(package, 1)
    holds.release_hold(first.registration_id, first.pk)
    assert (refreshed(ceremony).reserved, refreshed(banquet).reserved) == (0, 0)
    assert set(Hold.objects.values_list("status", flat=True)) == {Hold.Status.RELEASED}


def test_a_cancelled_item_event_releases_the_whole_package(ceremony_and_banquet):
    package, ceremony, banquet = ceremony_and_banquet
    held = hold_package(package, 1)
    assert holds.release_lines_of(held[0].registration_id, [banquet.pk]) == 2
    assert refreshed(ceremony).reserved == 0


def test_a_package_lapses_as_one(ceremony_and_banquet):
    package, ceremony, banquet = ceremony_and_banquet
    held = hold_package(package, 1)
    later = timezone.now() + datetime.timedelta(hours=1)
    assert holds.release_expired_holds(now=later).holds == 2
    assert (refreshed(ceremony).reserved, refreshed(banquet).reserved) == (0, 0)
    assert {h.status for h in Hold.objects.filter(registration_id=held[0].registration_id)} == {
        Hold.Status.EXPIRED
    }


def test_a_package_is_confirmed_as_one_at_the_package_price(ceremony_and_banquet):
    package, ceremony, banquet = ceremony_and_banquet
    registration = hold_package(package, 2, registration_type=Registration.Type.DELEGATION)[
        0
    ].registration
    brunch = make_ticket_type(make_event(package.function), price=Decimal("20.00"))
    hold(brunch, 1, registration_type=Registration.Type.DELEGATION)
    wizard.continue_to_attendee_details(registration.pk)
    wizard.save_attendee_details(
        registration.pk,
        wizard.ContactDetails(
            contact_name="Sec", contact_email="s@example.com", contact_phone="1",
            delegation_name="D",
        ),
        [],
    )  # fmt: skip
    wizard.continue_to_payment(registration.pk)
    confirmed = wizard.confirm_registration(
        registration.pk, payment_method="invoice", payment_status="pending"
    )
    assert confirmed.total_amount == Decimal("410.00")  # two packages at 195, and 20
    assert (refreshed(ceremony).sold, refreshed(banquet).sold) == (2, 2)
    assert (refreshed(ceremony).reserved, refreshed(banquet).reserved) == (0, 0)
    assert packages.package_sales([package.pk]) == {package.pk: (2, 0)}
    call_command("reconcile_inventory")


def test_an_individual_names_the_package_seats(ceremony_and_banquet):
    package, ceremony, banquet = ceremony_and_banquet
    registration = hold_package(package, 1)[0].registration
    reach_payment(registration, [attendee("Alan", ceremony, banquet)])
    assert wizard.total_of(wizard.current_holds(registration)) == Decimal("195.00")


def test_the_held_rows_of_a_failed_item_roll_back(ceremony_and_banquet, monkeypatch):
    """All or nothing inside the transaction: a failure after the first item's guarded
    UPDATE leaves no seat and no hold behind."""
    package, ceremony, banquet = ceremony_and_banquet
    guarded = inventory.reserve

    def fail_after_the_first_item(ticket_type, seats):
        if ticket_type.pk == banquet.pk:
            raise RuntimeError("injected failure after the first item")
        return guarded(ticket_type, seats)

    monkeypatch.setattr(inventory, "reserve", fail_after_the_first_item)
    with pytest.raises(RuntimeError):
        hold_package(package, 1)
    assert refreshed(ceremony).reserved == 0
    assert not Hold.objects.exists()
    assert not PackageHold.objects.exists()


def test_touched_by_names_the_packages_of_changed_ticket_types(ceremony_and_banquet):
    package, ceremony, _ = ceremony_and_banquet
    other = make_package([(make_ticket_type(make_event(package.function)), 1)])
    offers = packages.offers_of(package.function)
    assert [offers[i].package_id for i in packages.touched_by(offers, [ceremony.pk])] == [
        package.pk
    ]
    assert {o.package_id for o in offers} == {package.pk, other.pk}


def test_a_registration_whose_package_was_given_back_can_be_deleted(ceremony_and_banquet):
    package, _, _ = ceremony_and_banquet
    first, _ = hold_package(package, 1)
    holds.release_hold(first.registration_id, first.pk)
    wizard.delete_registration(first.registration_id)
    assert not Registration.objects.exists()
    assert not PackageHold.objects.exists()


def test_an_item_limited_to_other_registration_types_refuses_the_whole_package():
    function = make_function()
    ceremony = make_ticket_type(make_event(function), name="Ceremony", capacity=10)
    lodge_table = make_ticket_type(
        make_event(function),
        name="Lodge table",
        capacity=50,
        eligible_registration_types=[Registration.Type.LODGE],
    )
    package = make_package([(ceremony, 1), (lodge_table, 10)], price=Decimal("500.00"))
    with pytest.raises(NotEligible) as refused:
        hold_package(package, 1, registration_type=Registration.Type.INDIVIDUAL)
    assert refused.value.http_status == 409
    assert "Lodge table" in refused.value.message
    assert (refreshed(ceremony).reserved, refreshed(lodge_table).reserved) == (0, 0)
    assert not PackageHold.objects.exists()
