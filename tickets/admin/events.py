"""Events and their ticket types: edits go through staff_edits, cancelling through the
"Cancel events" action."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from tickets.admin.exports import EXPORT_ACTIONS, EventExportActions
from tickets.admin.forms import (
    TICKET_TYPE_SALES_FIELDS,
    CancellationForm,
    EventAdminForm,
    TicketTypeAdminForm,
    save_inline_forms_one_by_one,
)
from tickets.admin.waitlist import WaitingListActions
from tickets.models import Event, TicketType
from tickets.services import broadcasts, staff_edits
from tickets.services.exceptions import CapacityBelowCommitted


def save_ticket_type_form(request: HttpRequest, form: forms.ModelForm) -> None:
    try:
        staff_edits.save_ticket_type(
            form.instance,
            form.changed_data,
            new_capacity=form.cleaned_data.get("capacity"),
            edited_by=request.user,
        )
    except CapacityBelowCommitted as refusal:
        messages.error(request, refusal.message)


@admin.display(description="Available")
def available(ticket_type: TicketType) -> int | str:
    return "-" if ticket_type.pk is None else ticket_type.available


class TicketTypeInline(admin.TabularInline):
    model = TicketType
    form = TicketTypeAdminForm
    extra = 0
    fields = ("name", "price", "capacity", "reserved", "sold", available, *TICKET_TYPE_SALES_FIELDS)
    readonly_fields = ("reserved", "sold", available)


@admin.register(Event)
class EventAdmin(EventExportActions, admin.ModelAdmin):  # exports: issue 14
    form = EventAdminForm
    list_display = ("name", "function", "starts_at", "status", "staff_pages")
    list_filter = ("status", "function")
    search_fields = ("name", "function__name")
    list_select_related = ("function",)
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("cancelled_at", "cancellation_reason")
    inlines = [TicketTypeInline]
    actions = ["cancel_events", *EXPORT_ACTIONS]

    def save_model(self, request, obj: Event, form, change: bool) -> None:
        staff_edits.save_event(obj, form.changed_data, edited_by=request.user)

    def has_cancel_event_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.cancel_event")

    @admin.action(description="Cancel events… (cannot be undone)", permissions=["cancel_event"])
    def cancel_events(self, request: HttpRequest, queryset: QuerySet[Event]):
        events = list(queryset.select_related("function").exclude(status=Event.Status.CANCELLED))
        form = CancellationForm(request.POST if "confirm" in request.POST else None)
        if events and form.is_valid():
            for event in events:
                done = broadcasts.cancel_event(
                    event.pk, reason=form.cleaned_data["reason"], cancelled_by=request.user
                )
                self.message_user(
                    request,
                    f"{event.name} cancelled: {done.released_holds} hold(s) released, "
                    f"{done.refunds_flagged} registration(s) flagged for refund.",
                    messages.SUCCESS,
                )
            return None
        if not events:
            self.message_user(request, "Those events are already cancelled.", messages.WARNING)
            return None
        return TemplateResponse(
            request,
            "admin/tickets/event/cancel_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Cancel events",
                "events": [(event, broadcasts.seats_at_stake(event)) for event in events],
                "form": form,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    def save_formset(self, request, form, formset: BaseInlineFormSet, change: bool) -> None:
        if formset.model is not TicketType:
            return super().save_formset(request, form, formset, change)
        return save_inline_forms_one_by_one(
            formset,
            lambda f: save_ticket_type_form(request, f),
            refuse=lambda text: messages.error(request, text),
        )


@admin.register(TicketType)
class TicketTypeAdmin(WaitingListActions, admin.ModelAdmin):
    form = TicketTypeAdminForm
    list_display = (
        "name",
        "event",
        "price",
        "capacity",
        "reserved",
        "sold",
        available,
        "waiting",
        "waitlist_closed",
    )
    actions = ["close_waitlists", "open_waitlists"]  # the waiting list (tickets/admin/waitlist.py)
    list_filter = ("event__function", "event")
    list_select_related = ("event", "event__function")
    search_fields = ("name", "event__name")
    readonly_fields = ("reserved", "sold", available, "version", "waiting", "waitlist_closed")

    def save_model(self, request, obj: TicketType, form, change: bool) -> None:
        save_ticket_type_form(request, form)
