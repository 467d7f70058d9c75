"""Packages: several ticket types sold together at one price (docs/design.md §15).

Holding a package goes through the one hold path (services.holds, `hold_package_items`):
every item in one transaction, in ticket type order, by the guarded UPDATE of
services.inventory - all or nothing. Its items' Hold rows point at one PackageHold (the
package line), which carries the price; they lapse, are released and are confirmed
together because every one of those paths works on a registration's holds as a set, and
the two that give back single lines take the package's other items with them.

The read side: a package's availability is the least, over its items, of the item's
available seats divided by its seats per package, rounded down. It is computed from the
ticket types' TicketAvailability (`package_availability`), so a page, the JSON API and a
live push need no query of their own for it beyond reading the packages once.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from django.db.models import Exists, OuterRef, Prefetch, Q, Sum
from django.utils import timezone

from tickets.models import (
    Function,
    Hold,
    Package,
    PackageHold,
    PackageItem,
    TicketType,
)
from tickets.services import eligibility, holds
from tickets.services.availability import TicketAvailability
from tickets.services.exceptions import (
    NotEnoughAvailable,
    PackageNotOffered,
    PackageUnavailable,
    QuantityOutOfRange,
    SalesClosed,
    UnknownPackage,
)

PackageState = Literal["in_stock", "sold_out", "unavailable"]


def hold_package(order: holds.PackageRequest) -> list[Hold]:
    """Hold `order.quantity` packages: every item's seats in one transaction, or none.

    Raises a TicketingError with the message to show (PackageUnavailable when items are
    short); nothing is changed then. Returns the items' holds.
    """
    package = _package_for_sale(order)
    try:
        return holds.hold_package_items(replace(order, package=package))
    except holds.SelectionRefused as refused:
        short = [line for line in refused.lines if isinstance(line.error, NotEnoughAvailable)]
        if short and len(short) == len(refused.lines):
            raise _unavailable(package, order.quantity, [line.name for line in short]) from None
        raise refused.lines[0].error from None


def package_sales(package_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """(sold, held) packages per package id: its lines whose holds are confirmed, active."""
    package_ids = list(package_ids)

    def lines_with(status: str) -> Exists:
        return Exists(Hold.objects.filter(package_hold=OuterRef("pk"), status=status))

    rows = (
        PackageHold.objects.filter(package_id__in=package_ids)
        .values("package_id")
        .annotate(
            sold=Sum("quantity", filter=Q(lines_with(Hold.Status.CONFIRMED))),
            held=Sum("quantity", filter=Q(lines_with(Hold.Status.ACTIVE))),
        )
    )
    sales = {pk: (0, 0) for pk in package_ids}
    for row in rows:
        sales[row["package_id"]] = (row["sold"] or 0, row["held"] or 0)
    return sales


# --- the read side ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PackageOffer:
    """A package as a page shows it, read once (a socket keeps it for its lifetime)."""

    package_id: int
    name: str
    description: str
    price: Decimal
    # (ticket type id, seats of it per package), in ticket type order.
    items: tuple[tuple[int, int], ...]
    item_names: tuple[str, ...]
    registration_types: tuple[str, ...]
    # The package's own sales window, when it was read.
    window_open: bool


@dataclass(frozen=True, slots=True)
class PackageAvailability:
    """How many of a package can be held, at the versions of its items. Hashable: it
    keys the fragment cache."""

    package_id: int
    available: int
    # The sum of its items' versions: it grows with every change of any item, so a client
    # keeps the newest package state whatever order pushes arrive in.
    version: int
    on_sale: bool

    @property
    def state(self) -> PackageState:
        if not self.on_sale:
            return "unavailable"
        return "sold_out" if self.available == 0 else "in_stock"

    @property
    def can_buy(self) -> bool:
        return self.state == "in_stock"


def offers_of(function: Function, now: datetime.datetime | None = None) -> list[PackageOffer]:
    """The published packages of a function, with their items: two queries."""
    now = now or timezone.now()
    packages = (
        Package.objects.filter(function_id=function.pk, published=True)
        .prefetch_related(
            Prefetch(
                "items",
                queryset=PackageItem.objects.select_related("ticket_type").order_by(
                    "ticket_type_id"
                ),
            )
        )
        .order_by("position", "pk")
    )
    return [_offer(package, now) for package in packages]


def package_availability(
    offer: PackageOffer, by_ticket_type: Mapping[int, TicketAvailability]
) -> PackageAvailability:
    """min(floor(available_i / seats_i)) over the items; not on sale unless the package's
    window is open and every item is on sale (an item not shown - a draft event - is not)."""
    counts = [(by_ticket_type.get(tt_id), seats) for tt_id, seats in offer.items]
    known = [(a, seats) for a, seats in counts if a is not None]
    on_sale = (
        offer.window_open
        and bool(counts)
        and len(known) == len(counts)
        and all(a.on_sale for a, _ in known)
    )
    return PackageAvailability(
        package_id=offer.package_id,
        available=min((a.available // seats for a, seats in known), default=0)
        if len(known) == len(counts)
        else 0,
        version=sum(a.version for a, _ in known),
        on_sale=on_sale,
    )


def packages_with_availability(
    function: Function, by_ticket_type: Mapping[int, TicketAvailability]
) -> list[tuple[PackageOffer, PackageAvailability]]:
    return [(offer, package_availability(offer, by_ticket_type)) for offer in offers_of(function)]


def touched_by(offers: Iterable[PackageOffer], ticket_type_ids: Iterable[int]) -> list[int]:
    """Indexes of the offers with an item among `ticket_type_ids` (a push's changes)."""
    changed = set(ticket_type_ids)
    return [i for i, offer in enumerate(offers) if any(tt in changed for tt, _ in offer.items)]


# --- internals ---------------------------------------------------------------------------


def _offer(package: Package, now: datetime.datetime) -> PackageOffer:
    items = list(package.items.all())
    return PackageOffer(
        package_id=package.pk,
        name=package.name,
        description=package.description,
        price=package.price,
        items=tuple((item.ticket_type_id, item.quantity) for item in items),
        item_names=tuple(f"{item.quantity} × {item.ticket_type.name}" for item in items),
        registration_types=tuple(package.registration_types or ()),
        window_open=_window_open(package, now),
    )


def _window_open(package: Package, now: datetime.datetime) -> bool:
    if package.sales_start and now < package.sales_start:
        return False
    return not (package.sales_end and now >= package.sales_end)


def _package_for_sale(order: holds.PackageRequest) -> Package:
    try:
        package = (
            Package.objects.select_related("function")
            .prefetch_related(
                Prefetch("items", queryset=PackageItem.objects.select_related("ticket_type__event"))
            )
            .get(pk=order.package_id, function_id=order.function.pk, published=True)
        )
    except Package.DoesNotExist:
        raise UnknownPackage() from None
    if not package.items.all():
        raise UnknownPackage()
    refusal = eligibility.registration_type_refusal(order.registration_type, package)
    if refusal:
        raise PackageNotOffered(refusal)
    if not _window_open(package, timezone.now()):
        raise SalesClosed(f"{package.name} is not on sale right now.")
    if not 1 <= order.quantity <= package.max_per_order:
        raise QuantityOutOfRange(
            f"Choose between 1 and {package.max_per_order} of {package.name}; you asked for "
            f"{order.quantity}."
        )
    return package


def _unavailable(package: Package, requested: int, short: list[str]) -> PackageUnavailable:
    """Read after the refused transaction: only what the message shows."""
    seats_of = {item.ticket_type_id: item.quantity for item in package.items.all()}
    available = min(
        tt.available // seats_of[tt.pk]
        for tt in TicketType.objects.filter(pk__in=seats_of).only("capacity", "reserved", "sold")
    )
    return PackageUnavailable(package.name, requested, available, short)
