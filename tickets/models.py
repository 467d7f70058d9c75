"""The LodgeTix domain (docs/design.md §2).

Counters are the one piece of shared mutable state: `TicketType.reserved` and
`TicketType.sold` change only through `tickets.services.inventory`, inside a transaction,
by a guarded UPDATE. `TicketType.save()` never writes them back, so a stale instance (an
admin form, a shell session) cannot overwrite a concurrent sale. The CHECK constraints
below make any bug that slips past the service raise instead of overselling.
"""

from __future__ import annotations

import re
import secrets
import uuid
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.module_loading import import_string

from tickets.signals import RegistrationChange, registration_changed_on_commit

# A lodge buys tables; a table seats ten, and each of those seats is one seat of capacity.
SEATS_PER_LODGE_TABLE = 10


def new_secret_key() -> str:
    """128 random bits, URL-safe: ticket codes, manage-link and share-link keys."""
    return secrets.token_urlsafe(16)


def choices_list_validator(what: str, choices_path: str):
    """A validator of a JSON list of choice codes (eligibility lists): every item one of
    the TextChoices named by `choices_path`, none twice. Deconstructible, so migrations
    keep it by reference."""
    return ChoicesListValidator(what, choices_path)


@deconstructible
class ChoicesListValidator:
    def __init__(self, what: str, choices_path: str) -> None:
        self.what = what
        self.choices_path = choices_path

    def __call__(self, value: object) -> None:
        # "tickets.models.Attendee.Type": a class's nested choices, looked up when used
        # (the class may be defined after the field that validates against it).
        owner, _, attribute = self.choices_path.rpartition(".")
        choices = getattr(import_string(owner), attribute)
        if not isinstance(value, list) or any(item not in choices.values for item in value):
            raise ValidationError(f"Each {self.what} must be one of: {', '.join(choices.values)}.")
        if len(set(value)) != len(value):
            raise ValidationError(f"A {self.what} is listed twice.")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChoicesListValidator) and (self.what, self.choices_path) == (
            other.what,
            other.choices_path,
        )


class DietaryNeed(models.TextChoices):
    """The kitchen counts these (docs/design.md §11, §12); "other" comes with text."""

    VEGETARIAN = "vegetarian", "Vegetarian"
    VEGAN = "vegan", "Vegan"
    GLUTEN_FREE = "gluten_free", "Gluten free"
    DAIRY_FREE = "dairy_free", "Dairy free"
    NUT_ALLERGY = "nut_allergy", "Nut allergy"
    HALAL = "halal", "Halal"
    KOSHER = "kosher", "Kosher"
    OTHER = "other", "Other"


class Function(models.Model):
    """The gathering people register for, e.g. a Grand Proclamation."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    venue = models.CharField(max_length=200, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    published = models.BooleanField(default=False)
    hold_minutes = models.PositiveSmallIntegerField(
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(240)],
        help_text="How long selected tickets are held for a registration before they expire.",
    )
    low_stock_threshold = models.PositiveIntegerField(
        default=10,
        help_text='Below this many seats a ticket type shows "Only N left!".',
    )
    # Pay-later (invoice, at the door) confirmations take seats without money changing
    # hands; these bound what one buyer or one email address can take that way.
    unpaid_seat_limit = models.PositiveIntegerField(
        default=50,
        help_text=(
            "Most seats one buyer (browser) or one contact email may hold confirmed but "
            "unpaid (invoice or pay at the door) at once."
        ),
    )
    unpaid_days = models.PositiveSmallIntegerField(
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=(
            "Days a pay-later registration keeps its seats unless marked paid; after that it "
            "expires and the seats go back on sale."
        ),
    )
    # Printed on the confirmation and the tax invoice.
    organiser_name = models.CharField(max_length=200, blank=True)
    organiser_abn = models.CharField(
        "organiser ABN", max_length=20, blank=True, help_text="Australian Business Number."
    )
    names_due_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "Until then owners (and anyone with a table's share link) may name and correct "
            "attendees; after it the names pages are read-only. Empty: until the function starts."
        ),
    )
    # --- waiting list (design §13) ---
    waitlist_offer_minutes = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text=(
            "How long seats offered to the next person on a waiting list are held for them "
            "before the offer passes to the next."
        ),
    )
    # --- end waiting list ---
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # What attendees see of a function; a change to any of these is an info update.
    INFO_FIELDS = ("name", "description", "venue", "starts_at", "ends_at")

    class Meta:
        ordering = ["starts_at", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gte=F("starts_at")), name="function_ends_after_start"
            ),
        ]
        permissions = [
            # The live staff dashboard (docs/design.md §14): figures only, no personal data.
            ("view_dashboard", "Can open the live staff dashboard of a function"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("tickets:function-detail", kwargs={"slug": self.slug})


class Event(models.Model):
    """A session within a function: the ceremony, the banquet, the ladies' brunch."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        CANCELLED = "cancelled", "Cancelled"

    function = models.ForeignKey(Function, on_delete=models.PROTECT, related_name="events")
    slug = models.SlugField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    venue = models.CharField(max_length=200, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    position = models.PositiveSmallIntegerField(default=0)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancellation_reason = models.CharField(max_length=300, blank=True, editable=False)

    # What attendees see of an event; a change to any of these is an info update.
    INFO_FIELDS = ("name", "description", "venue", "starts_at", "ends_at")

    class Meta:
        ordering = ["function", "position", "starts_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["function", "slug"], name="event_slug_per_function"),
            models.CheckConstraint(
                condition=Q(ends_at__gte=F("starts_at")), name="event_ends_after_start"
            ),
        ]
        permissions = [
            ("cancel_event", "Can cancel events (releases holds, flags refunds)"),
        ]

    def __str__(self) -> str:
        return f"{self.function.name}: {self.name}"

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED


# --- lodges and eligibility (design §15) ---------------------------------------------------


_LODGE_WORD = re.compile(r"^lodge\s+|\s+lodge$")


def normalised_lodge_name(name: str) -> str:
    """Lower-cased, full stops dropped, spaces collapsed, without "Lodge" before or after:
    "Lodge  Harmony" and "harmony lodge" compare equal."""
    collapsed = " ".join(name.replace(".", " ").split()).casefold()
    return _LODGE_WORD.sub("", collapsed).strip()


class GrandLodge(models.Model):
    """A Grand Lodge (a jurisdiction): what eligibility by grand lodge names."""

    name = models.CharField(max_length=200, unique=True)
    abbreviation = models.CharField(max_length=40, unique=True, help_text="e.g. UGLNSW&ACT")
    country = models.CharField(max_length=80, blank=True)
    region = models.CharField(max_length=120, blank=True, help_text="State or province.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Lodge(models.Model):
    """A lodge under a grand lodge, picked by search instead of typed (design §15).
    Its number is text: some jurisdictions number lodges "12A"."""

    grand_lodge = models.ForeignKey(GrandLodge, on_delete=models.PROTECT, related_name="lodges")
    name = models.CharField(max_length=120)
    number = models.CharField(max_length=20)
    # Lower-cased, spaces collapsed, without a leading "Lodge ": what a search and the
    # matching of typed text compare (normalised_lodge_name).
    search_name = models.CharField(max_length=120, db_index=True, editable=False)

    class Meta:
        ordering = ["grand_lodge__name", "name", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["grand_lodge", "number"], name="lodge_number_per_grand_lodge"
            ),
        ]
        permissions = [
            (
                "merge_lodge",
                "Can merge duplicate lodges and match not-listed entries to lodges",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} No. {self.number}"

    def save(self, *args, **kwargs) -> None:
        self.search_name = normalised_lodge_name(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "search_name"}
        super().save(*args, **kwargs)


class TicketType(models.Model):
    """What is sold for an event. `available = capacity - reserved - sold`, never stored."""

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="ticket_types")
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    price = models.DecimalField(
        max_digits=9, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    capacity = models.IntegerField(validators=[MinValueValidator(0)])
    # Seats held by pending registrations, and seats sold. Written only by
    # tickets.services.inventory (see the module docstring).
    reserved = models.IntegerField(default=0, editable=False)
    sold = models.IntegerField(default=0, editable=False)
    # Bumped by every change a viewer can see; live fragments carry it as data-version so
    # a client keeps the newest state whatever order pushes arrive in.
    version = models.BigIntegerField(default=0, editable=False)
    sales_start = models.DateTimeField(null=True, blank=True)
    sales_end = models.DateTimeField(null=True, blank=True)
    min_per_order = models.PositiveSmallIntegerField(default=1)
    max_per_order = models.PositiveSmallIntegerField(
        default=10, help_text="Most seats one individual or delegation registration may hold."
    )
    max_tables_per_order = models.PositiveSmallIntegerField(
        default=5,
        help_text=f"Most lodge tables ({SEATS_PER_LODGE_TABLE} seats each) one lodge may hold.",
    )
    # Lodges buy these by the table of SEATS_PER_LODGE_TABLE; the rest (a brunch, a
    # single-seat tour) they buy by the seat, like anyone else.
    sold_by_table = models.BooleanField(
        default=True, help_text="Lodges buy this ticket type in tables, not single seats."
    )
    position = models.PositiveSmallIntegerField(default=0)
    # Set when its event is cancelled. The guarded UPDATE that takes seats checks it on
    # the row it locks, so a hold validated a moment before the cancellation committed
    # still cannot go through after it.
    withdrawn = models.BooleanField(default=False, editable=False)
    # --- eligibility (design §15): empty means anyone ---
    eligible_attendee_types = models.JSONField(
        default=list,
        blank=True,
        validators=[choices_list_validator("attendee type", "tickets.models.Attendee.Type")],
        help_text="Only these kinds of attendee may take it; none ticked: anyone.",
    )
    eligible_registration_types = models.JSONField(
        default=list,
        blank=True,
        validators=[
            choices_list_validator("registration type", "tickets.models.Registration.Type")
        ],
        help_text="Only these kinds of registration may hold it; none ticked: any.",
    )
    eligible_grand_lodges = models.ManyToManyField(
        GrandLodge,
        blank=True,
        related_name="+",
        help_text="Only attendees whose lodge (chosen from the list) is under one of these "
        "grand lodges may take it; none chosen: anyone.",
    )
    # --- end eligibility ---
    # --- waiting list (design §13) ---
    # People waiting (entries in status `waiting`) for seats of this type. A counter like
    # reserved and sold, written by the same guarded UPDATEs (services.inventory), so the
    # paths that free seats learn whether a queue exists from the row they already update.
    waiting = models.IntegerField(default=0, editable=False)
    # Staff closed the list: nobody new may join (those on it keep their places).
    waitlist_closed = models.BooleanField(default=False, editable=False)
    # --- end waiting list ---

    # Written only by guarded UPDATEs in services.inventory; see save().
    COUNTER_FIELDS = frozenset(
        {"capacity", "reserved", "sold", "version", "withdrawn", "waiting", "waitlist_closed"}
    )

    class Meta:
        ordering = ["event", "position", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(reserved__gte=0), name="ticket_reserved_gte_0"),
            models.CheckConstraint(condition=Q(sold__gte=0), name="ticket_sold_gte_0"),
            models.CheckConstraint(
                condition=Q(capacity__gte=F("reserved") + F("sold")),
                name="ticket_reserved_plus_sold_lte_capacity",
            ),
            models.CheckConstraint(
                condition=Q(min_per_order__gte=1) & Q(max_per_order__gte=F("min_per_order")),
                name="ticket_order_limits_sane",
            ),
            models.CheckConstraint(condition=Q(waiting__gte=0), name="ticket_waiting_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.event.name} - {self.name}"

    def save(self, *args, **kwargs) -> None:
        # An existing row never has its counters written from this (possibly stale)
        # instance: capacity goes through inventory.change_capacity(), reserved and sold
        # through the hold services. Inserting a new ticket type writes them once.
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in self.COUNTER_FIELDS
            ]
        super().save(*args, **kwargs)

    @property
    def available(self) -> int:
        return max(self.capacity - self.reserved - self.sold, 0)


class Registration(models.Model):
    """One buyer's journey for a function, from first hold to confirmation."""

    class Type(models.TextChoices):
        INDIVIDUAL = "individual", "Myself & others"
        LODGE = "lodge", "A lodge (tables of 10)"
        DELEGATION = "delegation", "A delegation"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CONFIRMED = "confirmed", "Confirmed"
        # Its hold time ran out with the buyer gone; `step` keeps where they gave up.
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    class Step(models.TextChoices):
        TICKET_SELECTION = "ticket_selection", "Tickets"
        ATTENDEE_DETAILS = "attendee_details", "Attendees"
        REVIEW = "review", "Review"
        PAYMENT = "payment", "Payment"
        CONFIRMATION = "confirmation", "Confirmation"

    class PaymentStatus(models.TextChoices):
        UNPAID = "unpaid", "Unpaid"
        PENDING = "pending", "Payment pending"
        PAID = "paid", "Paid"
        NOT_REQUIRED = "not_required", "Nothing to pay"
        REFUND_DUE = "refund_due", "Refund due"
        REFUNDED = "refunded", "Refunded"

    CONFIRMATION_PREFIXES = {
        Type.INDIVIDUAL: "IND",
        Type.LODGE: "LDG",
        Type.DELEGATION: "DEL",
    }

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    function = models.ForeignKey(Function, on_delete=models.PROTECT, related_name="registrations")
    registration_type = models.CharField(
        max_length=16, choices=Type.choices, default=Type.INDIVIDUAL
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    step = models.CharField(max_length=24, choices=Step.choices, default=Step.TICKET_SELECTION)
    # The furthest step ever reached (step itself goes back when tickets change): the
    # funnel counts "reached" from this.
    furthest_step = models.CharField(
        max_length=24, choices=Step.choices, default=Step.TICKET_SELECTION
    )
    # The anonymous browser identity (kept in the session) that owns this registration.
    buyer_key = models.CharField(max_length=64, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    expires_at = models.DateTimeField()
    confirmation_number = models.CharField(max_length=16, unique=True, null=True, blank=True)
    # Where the hold that opened it came from (common.client.client_address): an address
    # may hold only so many seats of a function at once (HOLD_SEATS_PER_IP).
    client_address = models.CharField(max_length=64, blank=True, editable=False)

    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    lodge_name = models.CharField(max_length=120, blank=True)
    lodge_number = models.CharField(max_length=20, blank=True)
    # The lodge of the list the typed lodge is (services.lodges.match_lodge); empty for a
    # lodge "not listed", which staff can match later (Lodge admin).
    lodge = models.ForeignKey(
        Lodge, null=True, blank=True, on_delete=models.SET_NULL, related_name="registrations"
    )
    delegation_name = models.CharField(max_length=120, blank=True)

    # Set for confirmed registrations with tickets to an event that was then cancelled.
    refund_due = models.BooleanField(default=False)
    payment_method = models.CharField(max_length=32, blank=True)
    payment_status = models.CharField(
        max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID
    )
    total_amount = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # Pay-later confirmations only: unless marked paid by then, the registration expires
    # and its seats go back (fixed at confirmation from Function.unpaid_days).
    payment_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What the buyer last typed on the attendee step, valid or not (services.registrations
    # .save_attendee_draft): the page is prefilled from it, so an expiry or a reload never
    # throws typed details away. Emptied at confirmation, when the attendees are saved.
    attendee_draft = models.JSONField(default=dict, blank=True, editable=False)
    # When the buyer used their one extension of the hold (docs/design.md §3.7, WCAG 2.2.1).
    hold_extended_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Signs the manage link (services.access); a new key revokes every earlier link.
    manage_key = models.CharField(max_length=32, default=new_secret_key, editable=False)
    # Signs the share link of a lodge's or delegation's tables; empty: no link is valid.
    share_key = models.CharField(max_length=32, blank=True, editable=False)

    STEP_ORDER = [s.value for s in Step]

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A double-clicked "Select" cannot open two registrations for one buyer.
            models.UniqueConstraint(
                fields=["buyer_key", "function"],
                condition=Q(status="pending"),
                name="one_pending_registration_per_buyer",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="registration_expiry"),
            # The sweeper looks for pay-later registrations past their due date.
            models.Index(
                fields=["payment_due_at"],
                condition=Q(status="confirmed", payment_status="pending"),
                name="unpaid_due",
            ),
            # The per-address cap sums the seats of pending registrations of one address.
            models.Index(
                fields=["function", "client_address"],
                condition=Q(status="pending"),
                name="pending_by_address",
            ),
        ]
        permissions = [
            ("mark_paid", "Can mark registrations paid"),
            ("cancel_registration", "Can cancel registrations and release their seats"),
            ("mark_refunded", "Can mark refunds paid out"),
        ]

    def __str__(self) -> str:
        return self.confirmation_number or f"Registration {str(self.id)[:8]}"

    def get_absolute_url(self) -> str:
        return reverse("tickets:registration", kwargs={"pk": self.pk})

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def hold_has_expired(self) -> bool:
        return self.is_pending and self.expires_at <= timezone.now()

    def mark_expired(self) -> None:
        """Its time ran out: saved as expired (inside the caller's transaction, its seats
        already given back), and announced once that transaction commits."""
        self.status = self.Status.EXPIRED
        self.save(update_fields=["status", "updated_at"])
        registration_changed_on_commit(self, RegistrationChange.EXPIRED)

    @property
    def counts_tables(self) -> bool:
        return self.registration_type == self.Type.LODGE

    @classmethod
    def step_index(cls, step: str) -> int:
        return cls.STEP_ORDER.index(step)

    def has_reached(self, step: str) -> bool:
        return self.step_index(self.step) >= self.step_index(step)


class Package(models.Model):
    """Several ticket types sold together at one price, e.g. "Ceremony and banquet", or
    "Lodge package: 10 banquet seats, $1,150" (docs/design.md §15).

    Holding one holds every item in one transaction, all or nothing
    (tickets.services.packages); its availability is the least, over its items, of
    available seats / the item's seats, rounded down.
    """

    function = models.ForeignKey(Function, on_delete=models.PROTECT, related_name="packages")
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    # GST-inclusive, like ticket prices; it replaces its items' own prices.
    price = models.DecimalField(
        max_digits=9, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    # Registration.Type values that may buy it; empty: anyone.
    registration_types = models.JSONField(
        default=list,
        blank=True,
        help_text="Registration types that may buy it (individual, lodge, delegation); "
        "empty: anyone.",
    )
    sales_start = models.DateTimeField(null=True, blank=True)
    sales_end = models.DateTimeField(null=True, blank=True)
    max_per_order = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1)],
        help_text="Most of this package one registration may hold.",
    )
    published = models.BooleanField(default=True, help_text="Shown and on sale.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["function", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_per_order__gte=1), name="package_max_per_order_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def eligible_registration_types(self) -> list[str]:
        """As a ticket type names it, so services.eligibility judges a package the same
        way (one rule, one message)."""
        return self.registration_types


class PackageItem(models.Model):
    """One ticket type of a package and how many SEATS of it one package takes - always
    seats, whoever buys: a lodge's tables count as seats of their items
    (SEATS_PER_LODGE_TABLE each), so a package of one table is an item of 10 seats."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="items")
    ticket_type = models.ForeignKey(
        TicketType, on_delete=models.PROTECT, related_name="package_items"
    )
    quantity = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1)], help_text="Seats of this ticket type in one package."
    )

    class Meta:
        ordering = ["package", "ticket_type_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["package", "ticket_type"], name="one_item_per_ticket_type"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="package_item_quantity_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.ticket_type.name}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if (
            self.package_id
            and self.ticket_type_id
            and self.ticket_type.event.function_id != self.package.function_id
        ):
            raise ValidationError(
                {"ticket_type": "A package can only contain ticket types of its own function."}
            )
        # A lodge package (sold to lodges only) is bought in tables; a package open to
        # others too may hold a lodge's seats of it as seats (services.holds).
        lodges = self.package_id and self.package.registration_types == [Registration.Type.LODGE]
        if (
            lodges
            and self.ticket_type_id
            and self.ticket_type.sold_by_table
            and self.quantity % SEATS_PER_LODGE_TABLE
        ):
            raise ValidationError(
                {
                    "quantity": f"Lodges buy {self.ticket_type.name} by the table: a lodge "
                    f"package needs a multiple of {SEATS_PER_LODGE_TABLE} seats of it."
                }
            )


class PackageHold(models.Model):
    """One package line of a registration: `quantity` packages at `unit_price` each. Its
    seats are the Hold rows pointing at it (one per item), which lapse, are released and
    are confirmed together (their status is its status); their own unit_price is 0."""

    registration = models.ForeignKey(
        "Registration", on_delete=models.CASCADE, related_name="package_holds"
    )
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="package_holds")
    quantity = models.PositiveSmallIntegerField()
    unit_price = models.DecimalField(max_digits=9, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["registration", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="package_hold_quantity_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.package.name}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class Hold(models.Model):
    """Seats of one ticket type held by, and then sold to, a registration.

    ACTIVE holds are counted in `TicketType.reserved`, CONFIRMED ones in `TicketType.sold`;
    `reconcile_inventory` recomputes both counters from this table.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Held"
        CONFIRMED = "confirmed", "Sold"
        RELEASED = "released", "Released"
        EXPIRED = "expired", "Expired"

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="holds")
    ticket_type = models.ForeignKey(TicketType, on_delete=models.PROTECT, related_name="holds")
    seats = models.PositiveIntegerField()
    # For lodge registrations, how many tables of SEATS_PER_LODGE_TABLE these seats are.
    tables = models.PositiveSmallIntegerField(null=True, blank=True)
    unit_price = models.DecimalField(max_digits=9, decimal_places=2)
    # Set when these seats are an item of a package line (their price is the package's).
    # RESTRICT: a package line goes only with its registration, which takes its holds too.
    package_hold = models.ForeignKey(
        PackageHold, null=True, blank=True, on_delete=models.RESTRICT, related_name="holds"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["ticket_type_id", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(seats__gte=1), name="hold_seats_gte_1"),
        ]
        indexes = [
            # The sweeper and the sold-out fallback look for expired active holds only.
            models.Index(
                fields=["expires_at", "ticket_type"],
                condition=Q(status="active"),
                name="active_hold_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seats} × {self.ticket_type}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.seats


class Attendee(models.Model):
    """A person on a registration."""

    class Type(models.TextChoices):
        MASON = "mason", "Mason"
        GUEST = "guest", "Guest"
        LADY_PARTNER = "lady_partner", "Lady partner"
        GUEST_PARTNER = "guest_partner", "Guest partner"

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="attendees"
    )
    position = models.PositiveSmallIntegerField()
    attendee_type = models.CharField(max_length=16, choices=Type.choices, default=Type.MASON)
    title = models.CharField(max_length=40, blank=True)
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    # Codes of DietaryNeed; `dietary_requirements` is the text that goes with "other".
    dietary_needs = models.JSONField(default=list, blank=True)
    dietary_requirements = models.CharField(max_length=200, blank=True)
    # Access, seating: free text for the venue.
    special_needs = models.CharField(max_length=300, blank=True)
    lodge_name = models.CharField(max_length=120, blank=True)
    lodge_number = models.CharField(max_length=20, blank=True)
    # As Registration.lodge: the listed lodge the typed one is, or empty ("not listed").
    lodge = models.ForeignKey(
        Lodge, null=True, blank=True, on_delete=models.SET_NULL, related_name="attendees"
    )
    partner_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="partners"
    )

    # The text columns that say who the person is and what they need: typed by the buyer
    # (services.registrations, services.names) and blanked when an unsold registration's
    # people are forgotten (services.retention). `dietary_needs`, a list, goes with them.
    PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = (
        "title",
        "first_name",
        "last_name",
        "email",
        "phone",
        "dietary_requirements",
        "special_needs",
    )

    class Meta:
        ordering = ["registration", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "position"], name="attendee_position_per_registration"
            ),
        ]

    def __str__(self) -> str:
        return " ".join(part for part in (self.title, self.first_name, self.last_name) if part)


class Ticket(models.Model):
    """One sold seat, issued at confirmation; named when an attendee is assigned to it.

    Lodge tables and delegation bulk seats are issued unnamed (names follow later).
    """

    hold = models.ForeignKey(Hold, on_delete=models.CASCADE, related_name="tickets")
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="tickets")
    attendee = models.ForeignKey(
        Attendee, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    # What its QR code carries and the door scans: unguessable, never reused.
    code = models.CharField(max_length=32, unique=True, default=new_secret_key, editable=False)
    # Bumped by every naming: a save that read an older version is refused (§11).
    version = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["hold", "pk"]
        constraints = [
            # One ticket per attendee per event; unnamed seats (NULL) do not collide.
            models.UniqueConstraint(
                fields=["attendee", "event"], name="one_ticket_per_attendee_per_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hold.ticket_type} for {self.attendee or 'unnamed seat'}"


class Broadcast(models.Model):
    """Something staff told everyone viewing a function. Kept, so later page loads show
    it too: the push over the socket is only the nudge."""

    class Kind(models.TextChoices):
        CAPACITY_CHANGE = "capacity_change", "Capacity change"
        INFO_UPDATE = "info_update", "Information update"
        CANCELLATION = "cancellation", "Cancellation"
        MESSAGE = "message", "Message"
        # --- waiting list ---
        WAITLIST = "waitlist", "Waiting list opened or closed"

    MAX_MESSAGE_LENGTH = 280

    function = models.ForeignKey(Function, on_delete=models.CASCADE, related_name="broadcasts")
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.CASCADE, related_name="broadcasts"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    text = models.CharField(max_length=500)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at", "-pk"]
        indexes = [models.Index(fields=["function", "-sent_at"], name="broadcast_recent")]
        permissions = [
            ("send_broadcast", "Can message people viewing a function"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:60]}"


class AuditEntry(models.Model):
    """Who did what to which object, when: one row per staff action on money or seats,
    written by the service in the transaction that does it (so an entry exists exactly
    when the change does). Read-only everywhere."""

    class Action(models.TextChoices):
        MARK_PAID = "mark_paid", "Marked paid"
        CANCEL_UNPAID = "cancel_unpaid", "Cancelled unpaid registration"
        CANCEL_REGISTRATION = "cancel_registration", "Cancelled registration"
        CANCEL_EVENT = "cancel_event", "Cancelled event"
        SEND_MESSAGE = "send_message", "Sent message"
        MARK_REFUNDED = "mark_refunded", "Marked refunded"
        REISSUE_MANAGE_LINK = "reissue_manage_link", "Reissued manage link"
        # --- the door (issue 14) ---
        CHECK_IN = "check_in", "Checked in"
        DOOR_PAYMENT = "door_payment", "Marked paid at the door"
        # --- waiting list ---
        WAITLIST_REMOVE = "waitlist_remove", "Removed from waiting list"
        WAITLIST_CLOSE = "waitlist_close", "Closed waiting list"
        WAITLIST_OPEN = "waitlist_open", "Opened waiting list"
        # --- lodges ---
        MERGE_LODGES = "merge_lodges", "Merged duplicate lodges"
        MATCH_LODGE = "match_lodge", "Matched not-listed lodge entries"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    # The object acted on, by model label and primary key: entries outlive what they name.
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.object_repr}"


# --- the door and the kitchen (issue 14, design §12) ----------------------------------------


class CheckIn(models.Model):
    """A ticket seen at the door of its event: at most one per ticket per event, enforced
    by the database, so a second scan on any door counts nothing twice
    (tickets.services.checkin inserts with ON CONFLICT DO NOTHING)."""

    MAX_DOOR_LENGTH = 40

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="check_ins")
    # The ticket's event, kept here so counts per event need no join.
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="check_ins")
    door = models.CharField(max_length=MAX_DOOR_LENGTH, blank=True)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["event", "at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "event"], name="one_check_in_per_ticket"),
        ]
        indexes = [models.Index(fields=["event", "door"], name="check_in_by_door")]
        permissions = [
            ("check_in", "Can check attendees in at the door"),
            ("view_kitchen", "Can open the kitchen page (counts only)"),
            ("see_dietary_names", "Can see who has a dietary or special need (kitchen page)"),
        ]

    def __str__(self) -> str:
        return f"Ticket {self.ticket_id} at {self.door or 'the door'}"


class StaffNote(models.Model):
    """A message from the organisers to the door and kitchen pages of an event (not to
    buyers): kept, so a page opened later shows the recent ones; the push only nudges."""

    MAX_LENGTH = Broadcast.MAX_MESSAGE_LENGTH

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="staff_notes")
    text = models.CharField(max_length=500)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at", "-pk"]

    def __str__(self) -> str:
        return self.text[:60]


# --- waiting list (design §13) -----------------------------------------------------------


class WaitlistEntry(models.Model):
    """Someone waiting for seats of a sold-out ticket type.

    Its place is its order of joining (created_at, then pk). Seats that come free go to the
    first entry that fits (services.waitlist.offer_freed_seats): an offer is a pending
    registration holding the seats, taken by the same guarded UPDATE as any hold.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        OFFERED = "offered", "Offered"
        ACCEPTED = "accepted", "Accepted"
        EXPIRED = "expired", "Offer lapsed"
        REMOVED = "removed", "Removed"

    ACTIVE_STATUSES = (Status.WAITING, Status.OFFERED)

    # The primary key orders the queue (after created_at) and names the entry in live
    # messages; the uuid is the secret in the entry page's address and never leaves it.
    uuid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    ticket_type = models.ForeignKey(
        TicketType, on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    quantity = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    # Stored lower-cased: one active entry per address and ticket type.
    email = models.EmailField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    # The browser that joined (common.buyers): it may claim an offer from the entry page.
    buyer_key = models.CharField(max_length=64, blank=True, editable=False)
    offered_registration = models.OneToOneField(
        Registration,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="waitlist_entry",
        editable=False,
    )
    offered_at = models.DateTimeField(null=True, blank=True, editable=False)
    lapses_at = models.DateTimeField(null=True, blank=True, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Signs the entry's link in mail (services.waitlist.entry_token).
    access_key = models.CharField(max_length=32, default=new_secret_key, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["ticket_type", "created_at", "pk"]
        verbose_name_plural = "waiting list entries"
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="waitlist_quantity_gte_1"),
            models.UniqueConstraint(
                fields=["ticket_type", "email"],
                condition=Q(status__in=["waiting", "offered"]),
                name="one_active_waitlist_entry_per_email",
            ),
        ]
        indexes = [
            models.Index(
                fields=["ticket_type", "created_at", "id"],
                condition=Q(status="waiting"),
                name="waitlist_queue",
            ),
        ]
        permissions = [
            ("manage_waitlist", "Can remove waiting list entries and close or open lists"),
        ]

    def __str__(self) -> str:
        return f"{self.name} waiting for {self.quantity} × {self.ticket_type.name}"

    def get_absolute_url(self) -> str:
        return reverse("tickets:waitlist-entry", kwargs={"uuid": self.uuid})

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES
