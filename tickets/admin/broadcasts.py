"""The record of what was told to attendees."""

from __future__ import annotations

from django.contrib import admin

from tickets.models import Broadcast


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    """What was told to attendees, and by whom. Sent through the function and event
    actions, never typed in here."""

    list_display = ("sent_at", "kind", "function", "event", "text", "sent_by")
    list_filter = ("kind", "function")
    list_select_related = ("function", "event", "sent_by")
    date_hierarchy = "sent_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the record of what attendees were told is kept
