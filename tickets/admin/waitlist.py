"""The waiting lists in the admin (design §13): each queue in order, remove an entry,
close or reopen a list. Removing and closing have their own permission
(`tickets.manage_waitlist`) and leave audit entries; the services do the work."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from tickets.models import TicketType, WaitlistEntry
from tickets.services import waitlist
from tickets.services.exceptions import TicketingError

Status = WaitlistEntry.Status


def _ahead_of_each() -> Subquery:
    """Waiting entries ahead of each row: its place in one query for the whole page."""
    ahead = (
        WaitlistEntry.objects.filter(ticket_type=OuterRef("ticket_type"), status=Status.WAITING)
        .filter(
            Q(created_at__lt=OuterRef("created_at"))
            | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))
        )
        .order_by()
        .values("ticket_type")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(ahead, output_field=IntegerField())


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    list_display = (
        "ticket_type",
        "place",
        "name",
        "email",
        "quantity",
        "status",
        "created_at",
        "offered_at",
        "lapses_at",
    )
    list_filter = ("status", "ticket_type__event__function", "ticket_type")
    list_select_related = ("ticket_type", "ticket_type__event")
    search_fields = ("name", "email")
    ordering = ("ticket_type", "created_at", "pk")
    readonly_fields = (
        "uuid",
        "ticket_type",
        "quantity",
        "name",
        "email",
        "status",
        "offered_registration",
        "created_at",
        "offered_at",
        "lapses_at",
        "ended_at",
    )
    fields = readonly_fields
    actions = ["remove_entries"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WaitlistEntry]:
        return super().get_queryset(request).annotate(ahead=Coalesce(_ahead_of_each(), 0))

    @admin.display(description="Place", ordering="created_at")
    def place(self, entry: WaitlistEntry) -> int | str:
        return entry.ahead + 1 if entry.status == Status.WAITING else "-"

    # Entries come from people joining; staff remove them through the action (which
    # passes an open offer on), never by editing or deleting rows.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_manage_waitlist_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.manage_waitlist")

    @admin.action(
        description="Remove selected entries (an open offer passes to the next)",
        permissions=["manage_waitlist"],
    )
    def remove_entries(self, request: HttpRequest, queryset: QuerySet[WaitlistEntry]) -> None:
        removed = skipped = 0
        for entry in queryset.filter(status__in=WaitlistEntry.ACTIVE_STATUSES):
            try:
                waitlist.remove_by_staff(entry.uuid, removed_by=request.user)
                removed += 1
            except TicketingError:
                skipped += 1
        self.message_user(
            request, f"Removed {removed} entries; {skipped} were no longer open.", messages.SUCCESS
        )


class WaitingListActions:
    """Close or reopen ticket types' waiting lists (mixed into the ticket type admin)."""

    def has_manage_waitlist_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.manage_waitlist")

    @admin.action(
        description="Close waiting lists (nobody new may join)", permissions=["manage_waitlist"]
    )
    def close_waitlists(self, request: HttpRequest, queryset: QuerySet[TicketType]) -> None:
        self._set_closed(request, queryset, True)

    @admin.action(description="Reopen waiting lists", permissions=["manage_waitlist"])
    def open_waitlists(self, request: HttpRequest, queryset: QuerySet[TicketType]) -> None:
        self._set_closed(request, queryset, False)

    def _set_closed(
        self, request: HttpRequest, queryset: QuerySet[TicketType], closed: bool
    ) -> None:
        changed = 0
        for ticket_type_id in queryset.order_by("pk").values_list("pk", flat=True):
            waitlist.set_list_closed(ticket_type_id, closed, changed_by=request.user)
            changed += 1
        self.message_user(
            request,
            f"{'Closed' if closed else 'Reopened'} {changed} waiting lists.",
            messages.SUCCESS,
        )
