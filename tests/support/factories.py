"""Small builders for test data. Plain functions: what a test needs is visible in it."""

from __future__ import annotations

import datetime
import itertools
import uuid
from decimal import Decimal

from django.utils import timezone

from analytics.models import Interaction
from tickets.models import (
    Event,
    Function,
    Package,
    PackageItem,
    Registration,
    TicketType,
    WaitlistEntry,
)
from tickets.services import holds, packages, waitlist
from tickets.services import registrations as wizard

_sequence = itertools.count(1)


def make_function(**fields) -> Function:
    n = next(_sequence)
    start = timezone.now() + datetime.timedelta(days=30)
    defaults = {
        "slug": f"function-{n}",
        "name": f"Function {n}",
        "starts_at": start,
        "ends_at": start + datetime.timedelta(days=1),
        "published": True,
    }
    return Function.objects.create(**{**defaults, **fields})


def make_event(function: Function | None = None, **fields) -> Event:
    function = function or make_function()
    n = next(_sequence)
    defaults = {
        "function": function,
        "slug": f"event-{n}",
        "name": f"Event {n}",
        "starts_at": function.starts_at,
        "ends_at": function.starts_at + datetime.timedelta(hours=3),
        "status": Event.Status.PUBLISHED,
    }
    return Event.objects.create(**{**defaults, **fields})


def make_ticket_type(event: Event | None = None, **fields) -> TicketType:
    event = event or make_event()
    n = next(_sequence)
    defaults = {"event": event, "name": f"Ticket {n}", "price": Decimal("100.00"), "capacity": 100}
    return TicketType.objects.create(**{**defaults, **fields})


def hold(
    ticket_type: TicketType,
    quantity: int = 1,
    *,
    buyer: str = "buyer-1",
    registration_type: str = Registration.Type.INDIVIDUAL,
):
    return holds.hold_tickets(
        holds.HoldRequest(
            buyer_key=buyer,
            function=ticket_type.event.function,
            ticket_type_id=ticket_type.pk,
            quantity=quantity,
            registration_type=registration_type,
        )
    )


def make_package(items: list[tuple[TicketType, int]], **fields) -> Package:
    """A package of (ticket type, seats per package) items, of their function."""
    n = next(_sequence)
    defaults = {
        "function": items[0][0].event.function,
        "name": f"Package {n}",
        "price": Decimal("150.00"),
    }
    package = Package.objects.create(**{**defaults, **fields})
    for ticket_type, seats in items:
        PackageItem.objects.create(package=package, ticket_type=ticket_type, quantity=seats)
    return package


def hold_package(
    package: Package,
    quantity: int = 1,
    *,
    buyer: str = "buyer-1",
    registration_type: str = Registration.Type.INDIVIDUAL,
):
    """The package's item holds (all of one registration)."""
    return packages.hold_package(
        holds.PackageRequest(
            buyer_key=buyer,
            function=package.function,
            package_id=package.pk,
            quantity=quantity,
            registration_type=registration_type,
        )
    )


def attendee(first_name: str = "Alan", *ticket_types: TicketType, **fields):
    return wizard.AttendeeDetails(
        first_name=first_name,
        last_name=fields.pop("last_name", "Reid"),
        email=fields.pop("email", f"{first_name.lower()}@example.com"),
        phone=fields.pop("phone", "0400 000 000"),
        lodge_name=fields.pop("lodge_name", "Lodge Antiquity"),
        ticket_type_ids=tuple(tt.pk for tt in ticket_types),
        **fields,
    )


def reach_payment(registration: Registration, attendees=()) -> Registration:
    """Walk a registration through the wizard up to the payment step."""
    wizard.continue_to_attendee_details(registration.pk)
    contact = (
        wizard.ContactDetails()
        if registration.registration_type == Registration.Type.INDIVIDUAL
        else wizard.ContactDetails(
            contact_name="Sec", contact_email="sec@example.com", contact_phone="1"
        )
    )
    wizard.save_attendee_details(registration.pk, contact, list(attendees))
    return wizard.continue_to_payment(registration.pk)


def refreshed(ticket_type: TicketType) -> TicketType:
    ticket_type.refresh_from_db()
    return ticket_type


def interaction_event(**fields) -> dict:
    """One browser event as tracker.js sends it."""
    event = {
        "id": str(uuid.uuid4()),
        "action": "field.change",
        "data": {"field": "first_name"},
        "timestamp": timezone.now().isoformat(),
        "page_url": "http://127.0.0.1:8000/",
    }
    return {**event, **fields}


def interaction_batch(events: list[dict], **fields) -> dict:
    return {"sent_at": timezone.now().isoformat(), "events": events, **fields}


def make_interaction(**fields) -> Interaction:
    """A stored interaction; `occurred_at` defaults to now."""
    moment = fields.pop("occurred_at", None) or timezone.now()
    defaults = {
        "uuid": uuid.uuid4(),
        "action": "page.view",
        "data": {},
        "client_timestamp": moment,
        "occurred_at": moment,
        "received_at": moment,
    }
    return Interaction.objects.create(**{**defaults, **fields})


def confirm(
    ticket_type: TicketType,
    quantity: int = 1,
    *,
    buyer: str = "buyer-1",
    email: str = "sec@example.com",
    payment_status: str = Registration.PaymentStatus.PENDING,
    registration_type: str = Registration.Type.DELEGATION,
) -> Registration:
    """A registration held, walked through the wizard and confirmed (pay later by
    default): a delegation, so `quantity` seats need no names."""
    registration = hold(
        ticket_type, quantity, buyer=buyer, registration_type=registration_type
    ).registration
    wizard.continue_to_attendee_details(registration.pk)
    contact = wizard.ContactDetails(
        contact_name="Sec", contact_email=email, contact_phone="1", delegation_name="D"
    )
    wizard.save_attendee_details(registration.pk, contact, [])
    wizard.continue_to_payment(registration.pk)
    return wizard.confirm_registration(
        registration.pk, payment_method="invoice", payment_status=payment_status
    )


def staff_user(username: str, *codenames: str):
    """A staff login holding exactly these permissions (codenames of any app)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(
        username, password="a-long-test-password", is_staff=True
    )
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def waiters(
    ticket_type: TicketType, count: int, *, with_buyer_keys: bool = False
) -> list[WaitlistEntry]:
    """`count` people joined to the ticket type's waiting list in order, one seat each:
    "Waiter n", wn@example.com (and buyer key waiter-n, so their pages are theirs)."""
    return [
        waitlist.join(
            waitlist.JoinRequest(
                function=ticket_type.event.function,
                ticket_type_id=ticket_type.pk,
                quantity=1,
                name=f"Waiter {n}",
                email=f"w{n}@example.com",
                buyer_key=f"waiter-{n}" if with_buyer_keys else "",
            )
        )
        for n in range(count)
    ]
