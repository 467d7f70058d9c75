"""Registrations, read-mostly: seats are taken through the hold service, not typed in,
and given back through the services' cancellations, never by deleting rows.

Each action that changes money or seats has its own permission (`tickets.mark_paid`,
`tickets.mark_refunded`, `tickets.cancel_registration`) and the service it calls leaves an
audit entry. The cancellations cannot be undone: each asks first, on a confirmation page.

Reissuing the manage link (services.access) changes neither money nor seats, so the
registration change permission covers it; it still leaves an audit entry, as whoever holds
the old link (and every browser that opened it) loses the registration.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.template.response import TemplateResponse

from tickets.models import Attendee, Hold, Registration, Ticket
from tickets.services import access, unpaid
from tickets.services import registrations as registration_service
from tickets.services.exceptions import RegistrationHasSeats


class AttendeeInline(admin.StackedInline):
    model = Attendee
    extra = 0
    fields = (
        ("attendee_type", "title", "first_name", "last_name"),
        ("email", "phone"),
        # The listed lodge beside what was typed: staff match a "not listed" one here.
        ("lodge_name", "lodge_number", "lodge"),
        ("dietary_needs", "dietary_requirements"),
        "special_needs",
    )
    autocomplete_fields = ("lodge",)


class HoldInline(admin.TabularInline):
    model = Hold
    extra = 0
    can_delete = False
    fields = (
        "ticket_type",
        "seats",
        "tables",
        "unit_price",
        "package_hold",  # the package line these seats are an item of (its price is there)
        "status",
        "expires_at",
        "ended_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # seats are taken through the hold service, not typed in here


class UnnamedSeatsFilter(admin.SimpleListFilter):
    """Staff see who is unnamed once names are due (design §11)."""

    title = "names"
    parameter_name = "names"

    def lookups(self, request, model_admin):
        return [("unnamed", "Some seats unnamed"), ("named", "Every seat named")]

    def queryset(self, request, queryset):
        unnamed = Ticket.objects.filter(
            hold__registration=OuterRef("pk"), hold__status=Hold.Status.CONFIRMED, attendee=None
        )
        if self.value() == "unnamed":
            return queryset.filter(Exists(unnamed))
        if self.value() == "named":
            return queryset.filter(status=Registration.Status.CONFIRMED).exclude(Exists(unnamed))
        return queryset


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "function",
        "registration_type",
        "status",
        "step",
        "payment_status",
        "refund_due",
        "total_amount",
        "contact_name",
        "unnamed_seats",
        "created_at",
    )
    list_filter = (
        "status",
        "refund_due",
        "registration_type",
        "payment_status",
        "step",
        "function",
        UnnamedSeatsFilter,
    )
    list_select_related = ("function",)
    search_fields = ("confirmation_number", "contact_name", "contact_email", "lodge_name")
    autocomplete_fields = ("lodge",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Registration]:
        # Names later (design §11): how many sold seats nobody is named for, in the list's
        # one query. A subquery, not a join and GROUP BY: actions lock these rows.
        unnamed = (
            Ticket.objects.filter(
                hold__registration=OuterRef("pk"), hold__status=Hold.Status.CONFIRMED, attendee=None
            )
            .order_by()
            .values("hold__registration")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(unnamed=Coalesce(Subquery(unnamed, output_field=IntegerField()), 0))
        )

    @admin.display(description="Unnamed seats", ordering="unnamed")
    def unnamed_seats(self, registration: Registration) -> int:
        return registration.unnamed

    date_hierarchy = "created_at"
    readonly_fields = (
        "id",
        "function",
        "registration_type",
        "status",
        "step",
        "buyer_key",
        "user",
        "expires_at",
        "confirmation_number",
        "payment_method",
        "payment_status",
        "total_amount",
        "created_at",
        "confirmed_at",
        "paid_at",
        "manage_link",
    )
    fieldsets = (
        (None, {"fields": ("id", "function", "registration_type", "status", "step")}),
        (
            "Contact",
            {
                "fields": (
                    "contact_name",
                    "contact_email",
                    "contact_phone",
                    ("lodge_name", "lodge_number", "lodge"),
                    "delegation_name",
                )
            },
        ),
        (
            "Payment",
            {
                "fields": (
                    "confirmation_number",
                    "payment_method",
                    "payment_status",
                    "total_amount",
                    "refund_due",
                )
            },
        ),
        (
            "History",
            {
                "classes": ("collapse",),
                "fields": (
                    "created_at",
                    "expires_at",
                    "confirmed_at",
                    "paid_at",
                    "buyer_key",
                    "user",
                ),
            },
        ),
        (
            "Way back in",
            {
                "classes": ("collapse",),
                "fields": ("manage_link",),
                "description": (
                    "Whoever opens this link owns the registration. If it reached the wrong "
                    "person, use the action “Reissue manage link”: this one stops working."
                ),
            },
        ),
    )
    inlines = [AttendeeInline, HoldInline]
    actions = [
        "mark_paid",
        "mark_refunded",
        "cancel_unpaid",
        "cancel_registrations",
        "reissue_manage_links",
        "reissue_and_send_manage_links",
    ]

    @admin.display(description="Manage link")
    def manage_link(self, obj: Registration) -> str:
        return access.manage_url(obj) if obj.pk else ""

    def has_mark_paid_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.mark_paid")

    def has_mark_refunded_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.mark_refunded")

    def has_cancel_registration_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.cancel_registration")

    def has_delete_permission(self, request: HttpRequest, obj: Registration | None = None) -> bool:
        # Deleting a row would strand its seats (the counters keep counting them): only
        # registrations with nothing held or sold may go; the others are cancelled.
        if obj is not None and registration_service.holds_seats(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict:
        # The bulk delete would go round has_delete_permission(obj) and strand seats.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request: HttpRequest, obj: Registration) -> None:
        try:
            registration_service.delete_registration(obj.pk)
        except RegistrationHasSeats as refusal:  # took seats since the page was shown
            self.message_user(request, refusal.message, messages.ERROR)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Registration]) -> None:
        for registration in queryset:
            self.delete_model(request, registration)

    @admin.action(description="Mark selected registrations paid", permissions=["mark_paid"])
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[Registration]) -> None:
        updated = registration_service.mark_paid(queryset, marked_by=request.user)
        skipped = queryset.count() - updated
        self.message_user(request, f"Marked {updated} registration(s) paid.", messages.SUCCESS)
        self.say_skipped(
            request, skipped, "only confirmed registrations awaiting payment can be marked paid"
        )

    def say_skipped(self, request: HttpRequest, skipped: int, why: str) -> None:
        """Tell staff how many selected registrations an action left alone, and why."""
        if skipped:
            self.message_user(
                request, f"{skipped} registration(s) skipped: {why}.", messages.WARNING
            )

    @admin.action(description="Mark selected refunds paid out", permissions=["mark_refunded"])
    def mark_refunded(self, request: HttpRequest, queryset: QuerySet[Registration]) -> None:
        marked = registration_service.mark_refunded(queryset, marked_by=request.user)
        skipped = queryset.count() - marked
        self.message_user(request, f"Marked {marked} registration(s) refunded.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} registration(s) skipped: only registrations with a refund due "
                "can be marked refunded.",
                messages.WARNING,
            )

    def _confirm_first(
        self,
        request: HttpRequest,
        queryset: QuerySet[Registration],
        action: str,
        title: str,
        consequence: str,
    ) -> TemplateResponse | None:
        """The confirmation page of an irreversible action, or None once confirmed."""
        if "confirm" in request.POST:
            return None
        return TemplateResponse(
            request,
            "admin/tickets/registration/cancel_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "consequence": consequence,
                "action": action,
                "registrations": list(queryset.select_related("function")),
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(
        description="Cancel unpaid registrations… (seats go back on sale; cannot be undone)",
        permissions=["cancel_registration"],
    )
    def cancel_unpaid(self, request: HttpRequest, queryset: QuerySet[Registration]):
        ask = self._confirm_first(
            request,
            queryset,
            "cancel_unpaid",
            "Cancel unpaid registrations",
            "Confirmed registrations still awaiting payment are cancelled and their seats "
            "go back on sale; the others selected are left as they are.",
        )
        if ask is not None:
            return ask
        done = unpaid.cancel_unpaid_registrations(
            list(queryset.values_list("pk", flat=True)), cancelled_by=request.user
        )
        self.message_user(
            request,
            f"Cancelled {done.cancelled} unpaid registration(s); {done.seats} seat(s) back on "
            "sale.",
            messages.SUCCESS,
        )
        self.say_skipped(
            request,
            done.skipped,
            "only confirmed registrations still awaiting payment are cancelled as unpaid",
        )

    @admin.action(
        description="Cancel selected registrations… (seats go back on sale; cannot be undone)",
        permissions=["cancel_registration"],
    )
    def cancel_registrations(self, request: HttpRequest, queryset: QuerySet[Registration]):
        ask = self._confirm_first(
            request,
            queryset,
            "cancel_registrations",
            "Cancel registrations",
            "Every seat they hold or bought goes back on sale at once; paid registrations "
            "are flagged for refund.",
        )
        if ask is not None:
            return ask
        ids = list(queryset.values_list("pk", flat=True))
        cancelled = sum(
            registration_service.cancel_by_staff(pk, cancelled_by=request.user) for pk in ids
        )
        self.message_user(request, f"Cancelled {cancelled} registration(s).", messages.SUCCESS)
        self.say_skipped(request, len(ids) - cancelled, "already cancelled or expired")

    @admin.action(
        description="Reissue manage link (the old link stops working)", permissions=["change"]
    )
    def reissue_manage_links(self, request: HttpRequest, queryset: QuerySet[Registration]) -> None:
        self._reissue(request, queryset, notify=False)

    @admin.action(
        description="Reissue manage link and email it to the contact (the old link stops working)",
        permissions=["change"],
    )
    def reissue_and_send_manage_links(
        self, request: HttpRequest, queryset: QuerySet[Registration]
    ) -> None:
        self._reissue(request, queryset, notify=True)

    def _reissue(
        self, request: HttpRequest, queryset: QuerySet[Registration], *, notify: bool
    ) -> None:
        reissued = access.reissue_manage_links(
            queryset.values_list("pk", flat=True), reissued_by=request.user, notify=notify
        )
        self.message_user(
            request,
            f"Reissued the manage link of {len(reissued)} registration(s): their old links no "
            "longer work, and browsers that opened them no longer own the registration.",
            messages.SUCCESS,
        )
        if notify:
            unmailed = sum(1 for registration in reissued if not registration.contact_email)
            self.message_user(
                request,
                f"The new link is on its way to {len(reissued) - unmailed} contact(s).",
                messages.SUCCESS,
            )
            self.say_skipped(request, unmailed, "no contact email to send the new link to")


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("__str__", "event", "attendee")
    list_select_related = ("hold__ticket_type__event", "event", "attendee")
    list_filter = ("event__function", "event", ("attendee", admin.EmptyFieldListFilter))
    raw_id_fields = ("hold", "attendee")
