"""Exports of an event as admin actions (issue 14): the door list, the attendees and the
dietary summary, one event at a time. They carry personal data, so they ask
`tickets.view_registration` (seeing registrations in the admin), as the attendee list in
the registration's own page does."""

from __future__ import annotations

import io

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import slugify

from tickets.models import Event
from tickets.services import exports


class EventExportActions:
    """Mixed into EventAdmin; the names go in its `actions` (EXPORT_ACTIONS), and a column
    linking the event's door and kitchen pages in its `list_display`."""

    @admin.display(description="Door and kitchen")
    def staff_pages(self, event: Event) -> str:
        return format_html(
            '<a href="{}">Door</a> · <a href="{}">Kitchen</a>',
            reverse("tickets:door", args=[event.pk]),
            reverse("tickets:kitchen", args=[event.pk]),
        )

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.view_registration")

    def _export(self, request: HttpRequest, queryset: QuerySet[Event], format: str):
        events = list(queryset.select_related("function")[:2])
        if len(events) != 1:
            self.message_user(request, "Choose one event to export.", messages.WARNING)
            return None
        event = events[0]
        write, binary, suffix, content_type = exports.FORMATS[format]
        buffer = io.BytesIO() if binary else io.StringIO()
        write(event, buffer)
        body = buffer.getvalue()
        response = HttpResponse(body, content_type=content_type)
        name = f"{slugify(event.function.name)}-{slugify(event.name)}-{suffix}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.action(description="Export the door list (PDF)", permissions=["export"])
    def export_door_list(self, request, queryset):
        return self._export(request, queryset, "pdf")

    @admin.action(description="Export attendees (CSV)", permissions=["export"])
    def export_attendees_csv(self, request, queryset):
        return self._export(request, queryset, "csv")

    @admin.action(description="Export attendees (XLSX)", permissions=["export"])
    def export_attendees_xlsx(self, request, queryset):
        return self._export(request, queryset, "xlsx")

    @admin.action(description="Export the dietary summary (CSV)", permissions=["export"])
    def export_dietary_summary(self, request, queryset):
        return self._export(request, queryset, "dietary-csv")


EXPORT_ACTIONS = [
    "export_door_list",
    "export_attendees_csv",
    "export_attendees_xlsx",
    "export_dietary_summary",
]
