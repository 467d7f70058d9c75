"""Registrations, read-mostly: seats are taken through the hold service, not typed in."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from tickets.models import Attendee, Hold, Registration, Ticket
from tickets.services import registrations as registration_service


class AttendeeInline(admin.StackedInline):
    model = Attendee
    extra = 0
    fields = (
        ("attendee_type", "title", "first_name", "last_name"),
        ("email", "phone"),
        ("lodge_name", "lodge_number"),
        "dietary_requirements",
    )


class HoldInline(admin.TabularInline):
    model = Hold
    extra = 0
    can_delete = False
    fields = ("ticket_type", "seats", "tables", "unit_price", "status", "expires_at", "ended_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # seats are taken through the hold service, not typed in here


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
        "created_at",
    )
    list_filter = (
        "status",
        "refund_due",
        "registration_type",
        "payment_status",
        "step",
        "function",
    )
    list_select_related = ("function",)
    search_fields = ("confirmation_number", "contact_name", "contact_email", "lodge_name")
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
                    ("lodge_name", "lodge_number"),
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
    )
    inlines = [AttendeeInline, HoldInline]
    actions = ["mark_paid"]

    @admin.action(description="Mark selected registrations paid")
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[Registration]) -> None:
        updated = registration_service.mark_paid(queryset)
        skipped = queryset.count() - updated
        self.message_user(request, f"Marked {updated} registration(s) paid.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} registration(s) skipped: only confirmed registrations awaiting "
                "payment can be marked paid.",
                messages.WARNING,
            )


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("__str__", "event", "attendee")
    list_select_related = ("hold__ticket_type__event", "event", "attendee")
    list_filter = ("event__function", "event")
    raw_id_fields = ("hold", "attendee")
