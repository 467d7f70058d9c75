"""Staff work here. The admin only collects input; the services apply the rules."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from tickets.models import (
    Attendee,
    Broadcast,
    Event,
    Function,
    Hold,
    Registration,
    Ticket,
    TicketType,
)
from tickets.services import broadcasts, staff_edits
from tickets.services import registrations as registration_service
from tickets.services.exceptions import CapacityBelowCommitted, TicketingError
from tickets.services.funnel import funnel_of


class TicketTypeAdminForm(forms.ModelForm):
    class Meta:
        model = TicketType
        fields = (
            "event",
            "name",
            "description",
            "price",
            "capacity",
            "sales_start",
            "sales_end",
            "min_per_order",
            "max_per_order",
            "max_tables_per_order",
            "position",
        )

    def clean_capacity(self) -> int:
        capacity = self.cleaned_data["capacity"]
        if self.instance.pk is not None:
            # Early, friendly feedback. The guarded UPDATE in inventory.change_capacity
            # is what actually holds the line if a sale lands in between.
            current = TicketType.objects.get(pk=self.instance.pk)
            committed = current.reserved + current.sold
            if capacity < committed:
                raise forms.ValidationError(CapacityBelowCommitted(current.name, committed).message)
        return capacity


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


def save_inline_forms_one_by_one(
    formset: BaseInlineFormSet, save_form: Callable[[forms.ModelForm], None]
) -> None:
    """Save an inline formset's changed rows through a service, one form at a time, so
    each edit is judged (and announced) on its own."""
    formset.save(commit=False)  # attaches new rows to the parent; saves nothing
    for obj in formset.deleted_objects:
        obj.delete()
    for form in formset.forms:
        if form not in formset.deleted_forms and form.has_changed():
            save_form(form)


class EventAdminForm(forms.ModelForm):
    class Meta:
        model = Event
        fields = (
            "function",
            "slug",
            "name",
            "description",
            "venue",
            "starts_at",
            "ends_at",
            "status",
            "position",
        )

    def clean_status(self) -> str:
        status = self.cleaned_data["status"]
        was = self.instance.status if self.instance.pk else None
        if status != was and Event.Status.CANCELLED in (status, was):
            raise forms.ValidationError(
                "Use the “Cancel events” action to cancel an event (it releases holds and "
                "tells attendees); a cancelled event cannot be reopened."
            )
        return status


@admin.display(description="Available")
def available(ticket_type: TicketType) -> int | str:
    return "-" if ticket_type.pk is None else ticket_type.available


class TicketTypeInline(admin.TabularInline):
    model = TicketType
    form = TicketTypeAdminForm
    extra = 0
    fields = (
        "name",
        "price",
        "capacity",
        "reserved",
        "sold",
        available,
        "sales_start",
        "sales_end",
        "min_per_order",
        "max_per_order",
        "max_tables_per_order",
        "position",
    )
    readonly_fields = ("reserved", "sold", available)


class EventInline(admin.TabularInline):
    model = Event
    form = EventAdminForm
    extra = 0
    fields = ("name", "slug", "starts_at", "ends_at", "venue", "status", "position")
    prepopulated_fields = {"slug": ("name",)}
    show_change_link = True


class MessageForm(forms.Form):
    text = forms.CharField(
        label="Message",
        max_length=Broadcast.MAX_MESSAGE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": Broadcast.MAX_MESSAGE_LENGTH}),
        help_text=f"Shown as plain text, at most {Broadcast.MAX_MESSAGE_LENGTH} characters.",
    )


class CancellationForm(forms.Form):
    reason = forms.CharField(
        label="What attendees are told",
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 300}),
        help_text="Optional, e.g. “The venue is unavailable; refunds follow within a week.”",
    )


class FunnelFilterForm(forms.Form):
    since = forms.DateField(required=False, label="Started from", widget=forms.DateInput(
        attrs={"type": "date"}))  # fmt: skip
    until = forms.DateField(required=False, label="Started until", widget=forms.DateInput(
        attrs={"type": "date"}))  # fmt: skip

    def clean(self) -> dict:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("The start of the range is after its end.")
        return data


@admin.register(Function)
class FunctionAdmin(admin.ModelAdmin):
    list_display = ("name", "starts_at", "venue", "published", "funnel_link")
    list_filter = ("published",)
    search_fields = ("name", "slug", "venue")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("funnel_link",)
    inlines = [EventInline]
    actions = ["send_message"]

    def save_model(self, request, obj: Function, form, change: bool) -> None:
        staff_edits.save_function(obj, form.changed_data, edited_by=request.user)

    def save_formset(self, request, form, formset: BaseInlineFormSet, change: bool) -> None:
        if formset.model is not Event:
            return super().save_formset(request, form, formset, change)
        return save_inline_forms_one_by_one(
            formset,
            lambda f: staff_edits.save_event(f.instance, f.changed_data, edited_by=request.user),
        )

    def has_send_broadcast_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.send_broadcast")

    @admin.action(description="Send a message to people viewing", permissions=["send_broadcast"])
    def send_message(self, request: HttpRequest, queryset: QuerySet[Function]):
        form = MessageForm(request.POST if "send" in request.POST else None)
        if form.is_valid():
            try:
                for function in queryset:
                    broadcasts.send_message(
                        function, form.cleaned_data["text"], sent_by=request.user
                    )
            except TicketingError as refusal:
                form.add_error("text", refusal.message)
            else:
                self.message_user(
                    request, f"Message sent to people viewing {len(queryset)} function(s)."
                )
                return None
        return TemplateResponse(
            request,
            "admin/tickets/function/send_message.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Send a message to people viewing",
                "functions": queryset,
                "form": form,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    def get_urls(self):
        funnel = path(
            "<path:object_id>/funnel/",
            self.admin_site.admin_view(self.funnel_view),
            name="tickets_function_funnel",
        )
        return [funnel, *super().get_urls()]

    @admin.display(description="Funnel")
    def funnel_link(self, function: Function) -> str:
        if function.pk is None:
            return "-"
        url = reverse("admin:tickets_function_funnel", args=[function.pk])
        return format_html('<a href="{}">Registration funnel</a>', url)

    def funnel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        function = self.get_object(request, object_id)
        if function is None or not self.has_view_permission(request, function):
            raise Http404("No such function")
        form = FunnelFilterForm(request.GET or None)
        dates = form.cleaned_data if form.is_valid() else {}
        result = funnel_of(function, since=dates.get("since"), until=dates.get("until"))
        started = result.started
        rows = [
            {
                "step": step,
                "share": step.share_of(started),
                "width": round(step.share_of(started)),
                "abandoned_width": round(100 * step.abandoned_here / started) if started else 0,
            }
            for step in result.steps
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Registration funnel: {function}",
            "function": function,
            "form": form,
            "funnel": result,
            "rows": rows,
        }
        return TemplateResponse(request, "admin/tickets/function/funnel.html", context)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    form = EventAdminForm
    list_display = ("name", "function", "starts_at", "status")
    list_filter = ("status", "function")
    search_fields = ("name", "function__name")
    list_select_related = ("function",)
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("cancelled_at", "cancellation_reason")
    inlines = [TicketTypeInline]
    actions = ["cancel_events"]

    def save_model(self, request, obj: Event, form, change: bool) -> None:
        staff_edits.save_event(obj, form.changed_data, edited_by=request.user)

    def has_send_broadcast_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.send_broadcast")

    @admin.action(description="Cancel events…", permissions=["send_broadcast"])
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
        return save_inline_forms_one_by_one(formset, lambda f: save_ticket_type_form(request, f))


@admin.register(TicketType)
class TicketTypeAdmin(admin.ModelAdmin):
    form = TicketTypeAdminForm
    list_display = ("name", "event", "price", "capacity", "reserved", "sold", available)
    list_filter = ("event__function", "event")
    list_select_related = ("event", "event__function")
    search_fields = ("name", "event__name")
    readonly_fields = ("reserved", "sold", available, "version")

    def save_model(self, request, obj: TicketType, form, change: bool) -> None:
        save_ticket_type_form(request, form)


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
