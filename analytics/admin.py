"""Staff look at captured interactions here; nobody edits them."""

from __future__ import annotations

import datetime

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from analytics.models import Interaction
from analytics.services.reports import daily_counts

CHART_DAYS = 30


class RecentActionFilter(admin.SimpleListFilter):
    """Actions seen in the last CHART_DAYS days.

    Django's default filter lists every distinct value, a scan of the whole table on each
    page load; bounded by time, the time-range index keeps it to recent rows.
    """

    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        since = timezone.now() - datetime.timedelta(days=CHART_DAYS)
        actions = (
            Interaction.objects.filter(occurred_at__gte=since)
            .order_by("action")
            .values_list("action", flat=True)
            .distinct()
        )
        return [(action, action) for action in actions]

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "action", "source", "function", "page_path", "visitor", "user")
    list_filter = (
        RecentActionFilter,
        "source",
        ("occurred_at", admin.DateFieldListFilter),
        "function",
    )
    list_select_related = ("function", "user")
    # Newest first by primary key: served by its index, unlike a sort on occurred_at.
    ordering = ("-pk",)
    show_full_result_count = False  # spares a COUNT(*) of the whole table per page
    list_per_page = 50

    @admin.display(description="page")
    def page_path(self, interaction: Interaction) -> str:
        return interaction.page_url.split("://", 1)[-1].partition("/")[2][:80]

    @admin.display(description="visitor")
    def visitor(self, interaction: Interaction) -> str:
        return interaction.session_id[:8]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Interaction]:
        return super().get_queryset(request).select_related("function", "event", "user")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # `manage.py analytics_prune` deletes in batches

    def changelist_view(self, request: HttpRequest, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            days = daily_counts(changelist.queryset, days=CHART_DAYS)
            peak = max((d.count for d in days), default=0)
            response.context_data["daily_chart"] = {
                "days": CHART_DAYS,
                "total": sum(d.count for d in days),
                "peak": peak,
                "first_day": days[0].day,
                "last_day": days[-1].day,
                "bars": [
                    {"day": d.day, "count": d.count, "percent": 100 * d.count // max(peak, 1)}
                    for d in days
                ],
            }
        return response
