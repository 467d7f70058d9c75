"""Functions: details, their events inline, staff messages and the registration funnel."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from tickets.admin.forms import (
    EventAdminForm,
    FunnelFilterForm,
    MessageForm,
    save_inline_forms_one_by_one,
)
from tickets.admin.packages import PackageInline
from tickets.models import Broadcast, Event, Function
from tickets.services import broadcasts, staff_edits
from tickets.services.exceptions import TicketingError
from tickets.services.funnel import funnel_of


class EventInline(admin.TabularInline):
    model = Event
    form = EventAdminForm
    extra = 0
    fields = ("name", "slug", "starts_at", "ends_at", "venue", "status", "position")
    prepopulated_fields = {"slug": ("name",)}
    show_change_link = True


@admin.register(Function)
class FunctionAdmin(admin.ModelAdmin):
    list_display = ("name", "starts_at", "venue", "published", "funnel_link", "dashboard_link")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "slug",
                    "description",
                    "venue",
                    ("starts_at", "ends_at"),
                    "published",
                    "funnel_link",
                    "dashboard_link",
                )
            },
        ),
        ("Selling", {"fields": ("hold_minutes", "low_stock_threshold")}),
        ("Pay later", {"fields": ("unpaid_seat_limit", "unpaid_days")}),
        (
            "Organiser",
            {
                "fields": ("organiser_name", "organiser_abn"),
                "description": (
                    "Printed on every confirmation email and tax invoice. Without a name the "
                    "function's name stands in; a tax invoice needs the ABN."
                ),
            },
        ),
        ("Names", {"fields": ("names_due_at",)}),
        ("Waiting list", {"fields": ("waitlist_offer_minutes",)}),
    )
    list_filter = ("published",)
    search_fields = ("name", "slug", "venue")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("funnel_link", "dashboard_link")
    inlines = [EventInline, PackageInline]
    actions = ["send_message"]

    def save_model(self, request, obj: Function, form, change: bool) -> None:
        staff_edits.save_function(obj, form.changed_data, edited_by=request.user)

    def save_formset(self, request, form, formset: BaseInlineFormSet, change: bool) -> None:
        if formset.model is not Event:
            return super().save_formset(request, form, formset, change)
        return save_inline_forms_one_by_one(
            formset,
            lambda f: staff_edits.save_event(f.instance, f.changed_data, edited_by=request.user),
            refuse=lambda text: messages.error(request, text),
        )

    def has_send_broadcast_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.send_broadcast")

    @admin.action(description="Send a message to people viewing", permissions=["send_broadcast"])
    def send_message(self, request: HttpRequest, queryset: QuerySet[Function]):
        # Three steps: write (with a counter), preview as people will see it, send. Only
        # the last sends; "edit" goes back to the text as it was written.
        stage = (
            "send" if "send" in request.POST else "preview" if "preview" in request.POST else None
        )
        if stage is None and "edit" in request.POST:  # back from the preview, text kept
            form = MessageForm(initial={"text": request.POST.get("text", "")})
        else:
            form = MessageForm(request.POST if stage else None)
        if stage and form.is_valid():
            if stage == "preview":
                return self._message_page(
                    request, queryset, form, preview=form.cleaned_data["text"]
                )
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
        return self._message_page(request, queryset, form)

    def _message_page(
        self,
        request: HttpRequest,
        functions: QuerySet[Function],
        form: MessageForm,
        preview: str | None = None,
    ) -> TemplateResponse:
        return TemplateResponse(
            request,
            "admin/tickets/function/send_message.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Check the message" if preview else "Send a message to people viewing",
                "functions": functions,
                "form": form,
                "preview": preview,
                "limit": Broadcast.MAX_MESSAGE_LENGTH,
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

    @admin.display(description="Live dashboard")
    def dashboard_link(self, function: Function) -> str:
        """The live staff dashboard (tickets.views.dashboard; it asks its own permission)."""
        if function.pk is None:
            return "-"
        url = reverse("tickets:dashboard", args=[function.slug])
        return format_html('<a href="{}">Live dashboard</a>', url)

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
                "expired_width": round(100 * step.expired_here / started) if started else 0,
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
