"""Grand lodges and lodges (reference data, design §15): loaded by `import_lodges`,
edited here. Merging duplicates and matching "not listed" entries change which lodge
registrations and attendees name, so each needs `tickets.merge_lodge` and leaves an
audit entry (services.lodges)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from tickets.models import GrandLodge, Lodge
from tickets.services import lodges
from tickets.services.exceptions import InvalidLodgeMerge


@admin.register(GrandLodge)
class GrandLodgeAdmin(admin.ModelAdmin):
    list_display = ("name", "abbreviation", "country", "region")
    search_fields = ("name", "abbreviation")


class MergeForm(forms.Form):
    keep = forms.ModelChoiceField(
        queryset=Lodge.objects.none(),
        widget=forms.RadioSelect,
        label="Keep",
        help_text="The others' registrations and attendees move to it; the others are deleted.",
    )

    def __init__(self, *args, lodges: QuerySet[Lodge], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["keep"].queryset = lodges


@admin.register(Lodge)
class LodgeAdmin(admin.ModelAdmin):
    list_display = ("name", "number", "grand_lodge")
    list_filter = ("grand_lodge",)
    list_select_related = ("grand_lodge",)
    search_fields = ("name", "number", "grand_lodge__abbreviation")
    actions = ["merge_lodges", "match_not_listed"]

    def has_merge_lodge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.merge_lodge")

    @admin.action(description="Merge duplicate lodges…", permissions=["merge_lodge"])
    def merge_lodges(self, request: HttpRequest, queryset: QuerySet[Lodge]):
        chosen = queryset.select_related("grand_lodge").order_by("pk")
        form = MergeForm(request.POST if "confirm" in request.POST else None, lodges=chosen)
        if form.is_bound and form.is_valid():
            kept = form.cleaned_data["keep"]
            try:
                done = lodges.merge(kept, chosen, merged_by=request.user)
            except InvalidLodgeMerge as refusal:
                self.message_user(request, refusal.message, messages.ERROR)
                return None
            self.message_user(
                request,
                f"Merged {done.removed} lodge(s) into {kept}: {done.registrations} "
                f"registration(s) and {done.attendees} attendee(s) moved.",
                messages.SUCCESS,
            )
            return None
        if chosen.count() < 2:
            self.message_user(
                request,
                "Choose at least two lodges: the one to keep and its duplicates.",
                messages.WARNING,
            )
            return None
        return TemplateResponse(
            request,
            "admin/tickets/lodge/merge_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Merge duplicate lodges",
                "lodges": chosen,
                "form": form,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(
        description="Link not-listed entries that name these lodges", permissions=["merge_lodge"]
    )
    def match_not_listed(self, request: HttpRequest, queryset: QuerySet[Lodge]) -> None:
        linked = lodges.match_unlisted(list(queryset), matched_by=request.user)
        self.message_user(
            request, f"{linked} registration(s) and attendee(s) linked.", messages.SUCCESS
        )
