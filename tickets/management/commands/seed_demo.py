import datetime
import os
import secrets
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from tickets.models import (
    SEATS_PER_LODGE_TABLE,
    Attendee,
    Event,
    Function,
    GrandLodge,
    Lodge,
    Package,
    PackageItem,
    Registration,
    TicketType,
)
from tickets.services import holds, registrations

FUNCTION_SLUG = "grand-proclamation"
CEREMONY_EVENT_SLUG = "ceremony"  # its one ticket type has the 600 ceremony seats
STAFF_USERNAME = "staff"
PASSWORD_FILE = settings.VAR_DIR / "demo-staff-password"

# (slug, name, day offset, start hour, venue, [(ticket type, price, capacity)])
EVENTS = [
    (
        CEREMONY_EVENT_SLUG,
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

# Ticket types only some may take (design §15): the Quarterly Communication is for Masons.
ELIGIBILITY = {"Admission": {"eligible_attendee_types": [Attendee.Type.MASON]}}

# A small sample of the reference data `import_lodges` loads in full:
# (grand lodge, abbreviation, country, region, [(lodge, number)]).
SAMPLE_LODGES = [
    (
        "United Grand Lodge of New South Wales and the Australian Capital Territory",
        "UGLNSW&ACT",
        "Australia",
        "NSW",
        [("Lodge Antiquity", "1"), ("Lodge Harmony", "5"), ("Lodge Ionic", "65")],
    ),
    (
        "United Grand Lodge of Victoria",
        "UGLV",
        "Australia",
        "VIC",
        [("Lodge Unity", "12"), ("Lodge Carlton", "30")],
    ),
    (
        "United Grand Lodge of Queensland",
        "UGLQ",
        "Australia",
        "QLD",
        [("Lodge Brisbane", "2")],
    ),
]


# (name, price, registration types (empty: anyone), [(ticket type, seats per package)])
PACKAGES = [
    ("Ceremony and banquet", "195.00", [], [("Ceremony seat", 1), ("Banquet seat", 1)]),
    (
        "Lodge package: 10 banquet seats",
        "1150.00",
        [Registration.Type.LODGE],
        [("Banquet seat", SEATS_PER_LODGE_TABLE)],
    ),
]


class Command(BaseCommand):
    help = (
        "Create the demo function (Grand Proclamation) and a staff login. Safe to run again: "
        "what exists is left alone."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even with DEBUG off (a production database gets a superuser).",
        )

    def handle(self, *args, force: bool = False, **options) -> None:
        # With DEBUG off this is most likely a production database, where a demo function
        # and a superuser with a known password have no business.
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo adds a demo function and a superuser; DEBUG is off, so this looks "
                "like a production database. Run it with --force if it is not (or, for "
                "`make run` on a local trial database, set DEBUG=1)."
            )
        lodges_created = self._sample_lodges()
        if lodges_created:
            self.stdout.write(f"Added {lodges_created} sample lodges.")
        function, created = self._function()
        if created:
            self.stdout.write(self.style.SUCCESS(f"Created demo function {function.name}."))
        else:
            self.stdout.write(f"Demo function {function.name} already exists; left as it is.")
        # Where the password is, never the password: terminal logs and CI logs keep it.
        self.stdout.write(f"Staff login for /admin/: {self._staff_login()}")

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
            add_demo_events(function, start)
            self._packages(function)
        self._nearly_sell_out(function)
        return function, True

    def _sample_lodges(self) -> int:
        """The sample grand lodges and lodges, each added if missing (by abbreviation, and
        by grand lodge and number, as import_lodges knows them)."""
        created = 0
        with transaction.atomic():
            for name, abbreviation, country, region, lodges in SAMPLE_LODGES:
                grand_lodge, _ = GrandLodge.objects.get_or_create(
                    abbreviation=abbreviation,
                    defaults={"name": name, "country": country, "region": region},
                )
                for lodge_name, number in lodges:
                    _, new = Lodge.objects.get_or_create(
                        grand_lodge=grand_lodge, number=number, defaults={"name": lodge_name}
                    )
                    created += new
        return created

    def _packages(self, function: Function) -> None:
        """The two packages of docs/design.md §15: one for anyone, one for lodges only."""
        by_name = {tt.name: tt for tt in TicketType.objects.filter(event__function=function)}
        for position, (name, price, kinds, items) in enumerate(PACKAGES):
            package = Package.objects.create(
                function=function,
                name=name,
                price=Decimal(price),
                registration_types=kinds,
                position=position,
            )
            PackageItem.objects.bulk_create(
                PackageItem(package=package, ticket_type=by_name[tt_name], quantity=seats)
                for tt_name, seats in items
            )

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

    def _staff_login(self) -> str:
        """Make sure the staff user's password is one we know; say where it is kept."""
        User = get_user_model()
        from_env = os.environ.get("LODGETIX_STAFF_PASSWORD")
        where = (
            "password from LODGETIX_STAFF_PASSWORD"
            if from_env
            else f"password in {_shown_path(PASSWORD_FILE)}"
        )
        password = from_env or (
            PASSWORD_FILE.read_text().strip() if PASSWORD_FILE.exists() else None
        )
        user = User.objects.filter(username=STAFF_USERNAME).first()
        if user is not None and password and user.check_password(password):
            return f"user {STAFF_USERNAME}, {where}"
        # New user, or a password we no longer know: set one and remember it locally
        # (var/ is never committed).
        password = password or secrets.token_urlsafe(12)
        if user is None:
            user = User(username=STAFF_USERNAME, email="staff@lodgetix.example")
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        if not from_env:
            write_private(PASSWORD_FILE, password + "\n")
        return f"user {STAFF_USERNAME}, {where}"


def add_demo_events(function: Function, start: datetime.datetime) -> None:
    """The demo's six events and seven ticket types on `function`, from `start` (also used
    by `bench rush --demo` for its throwaway copy of the demo function)."""
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
                **ELIGIBILITY.get(tt_name, {}),
            )


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, from its first byte.

    A new file is created 0600 (chmod after writing would leave a moment in which others
    could read it); it replaces the old one in one rename.
    """
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _shown_path(path: Path) -> str:
    """The path relative to the checkout when it is inside it (var/demo-staff-password)."""
    try:
        return str(path.relative_to(settings.BASE_DIR))
    except ValueError:
        return str(path)
