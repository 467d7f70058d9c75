import datetime
import os
import secrets
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from tickets.models import Event, Function, Registration, TicketType
from tickets.services import holds, registrations

FUNCTION_SLUG = "grand-proclamation"
STAFF_USERNAME = "staff"
PASSWORD_FILE = settings.VAR_DIR / "demo-staff-password"

# (slug, name, day offset, start hour, venue, [(ticket type, price, capacity)])
EVENTS = [
    (
        "ceremony",
        "Grand Proclamation Ceremony",
        0,
        14,
        "Sydney Town Hall",
        [("Ceremony seat", "45.00", 600)],
    ),
    (
        "quarterly-communication",
        "Quarterly Communication",
        0,
        10,
        "Sydney Masonic Centre",
        [("Admission", "0.00", 500)],
    ),
    (
        "cocktail",
        "Cocktail Reception",
        0,
        18,
        "Sydney Town Hall foyer",
        [("Reception", "65.00", 200)],
    ),
    (
        "banquet",
        "Grand Banquet",
        1,
        19,
        "International Convention Centre",
        [("Banquet seat", "165.00", 440), ("Premium table seat", "220.00", 40)],
    ),
    (
        "cruise-lunch",
        "Harbour Cruise Lunch",
        2,
        12,
        "King Street Wharf",
        [("Cruise lunch", "95.00", 150)],
    ),
    (
        "ladies-brunch",
        "Ladies' Brunch",
        2,
        10,
        "The Strand Arcade tea rooms",
        [("Brunch", "55.00", 100)],
    ),
]


class Command(BaseCommand):
    help = (
        "Create the demo function (Grand Proclamation) and a staff login. Safe to run again: "
        "what exists is left alone."
    )

    def handle(self, *args, **options) -> None:
        function, created = self._function()
        if created:
            self.stdout.write(self.style.SUCCESS(f"Created demo function {function.name}."))
        else:
            self.stdout.write(f"Demo function {function.name} already exists; left as it is.")
        username, password = self._staff_login()
        self.stdout.write(f"Staff login for /admin/: {username} / {password}")

    def _function(self) -> tuple[Function, bool]:
        existing = Function.objects.filter(slug=FUNCTION_SLUG).first()
        if existing is not None:
            return existing, False
        start = timezone.localtime(timezone.now() + datetime.timedelta(days=60)).replace(
            hour=9, minute=0, second=0, microsecond=0
        )
        with transaction.atomic():
            function = Function.objects.create(
                slug=FUNCTION_SLUG,
                name="Grand Proclamation",
                description=(
                    "Three days celebrating the proclamation of the Grand Master: the "
                    "ceremony, the Grand Banquet, a harbour cruise and the ladies' brunch."
                ),
                venue="Sydney",
                starts_at=start,
                ends_at=start + datetime.timedelta(days=2, hours=12),
                published=True,
            )
            for position, (slug, name, day, hour, venue, ticket_types) in enumerate(EVENTS):
                starts_at = (start + datetime.timedelta(days=day)).replace(hour=hour)
                event = Event.objects.create(
                    function=function,
                    slug=slug,
                    name=name,
                    venue=venue,
                    starts_at=starts_at,
                    ends_at=starts_at + datetime.timedelta(hours=3),
                    status=Event.Status.PUBLISHED,
                    position=position,
                )
                for tt_position, (tt_name, price, capacity) in enumerate(ticket_types):
                    TicketType.objects.create(
                        event=event,
                        name=tt_name,
                        price=Decimal(price),
                        capacity=capacity,
                        position=tt_position,
                    )
        self._nearly_sell_out(function)
        return function, True

    def _nearly_sell_out(self, function: Function) -> None:
        """Sell 37 of the 40 premium banquet seats through the real services: three lodge
        tables and a delegation of seven."""
        premium = TicketType.objects.get(event__function=function, name="Premium table seat")
        self._confirmed_registration(
            function,
            premium,
            Registration.Type.LODGE,
            3,
            registrations.ContactDetails(
                lodge_name="Lodge Antiquity",
                lodge_number="1",
                contact_name="W.Bro. Alan Reid",
                contact_email="secretary@antiquity.example",
                contact_phone="02 9000 0001",
            ),
        )
        self._confirmed_registration(
            function,
            premium,
            Registration.Type.DELEGATION,
            7,
            registrations.ContactDetails(
                delegation_name="Grand Lodge of New Zealand",
                contact_name="RW.Bro. Tane Walker",
                contact_email="delegation@gl.example",
                contact_phone="+64 4 000 0000",
            ),
        )

    def _confirmed_registration(self, function, ticket_type, registration_type, quantity, contact):
        hold = holds.hold_tickets(
            holds.HoldRequest(
                buyer_key=f"seed-{registration_type}",
                function=function,
                ticket_type_id=ticket_type.pk,
                quantity=quantity,
                registration_type=registration_type,
            )
        )
        registration = hold.registration
        registrations.continue_to_attendee_details(registration.pk)
        registrations.save_attendee_details(registration.pk, contact, [])
        registrations.continue_to_payment(registration.pk)
        registrations.confirm_registration(
            registration.pk,
            payment_method="invoice",
            payment_status=Registration.PaymentStatus.PAID,
        )

    def _staff_login(self) -> tuple[str, str]:
        User = get_user_model()
        password = os.environ.get("LODGETIX_STAFF_PASSWORD") or (
            PASSWORD_FILE.read_text().strip() if PASSWORD_FILE.exists() else None
        )
        user = User.objects.filter(username=STAFF_USERNAME).first()
        if user is not None and password and user.check_password(password):
            return STAFF_USERNAME, password
        # New user, or a password we no longer know: set one and remember it locally
        # (var/ is never committed).
        password = password or secrets.token_urlsafe(12)
        if user is None:
            user = User(username=STAFF_USERNAME, email="staff@lodgetix.example")
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        PASSWORD_FILE.write_text(password + "\n")
        PASSWORD_FILE.chmod(0o600)
        return STAFF_USERNAME, password
