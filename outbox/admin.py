"""The outbox for staff: every message, what became of it, and a way to send it again."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from outbox import services
from outbox.delivery import build_email
from outbox.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Read only: messages are written by the product and delivered by the sender; staff
    look, search, and resend."""

    list_display = (
        "to",
        "subject",
        "kind",
        "status",
        "attempts",
        "short_last_error",
        "created_at",
        "sent_at",
    )
    list_filter = ("status", "kind")
    search_fields = ("to", "subject", "about")
    date_hierarchy = "created_at"
    actions = ["resend_messages"]
    fields = (
        "to",
        "subject",
        "kind",
        "about",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
        "preview",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return False  # the record of what was sent to whom is kept

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("outbox.resend_message")

    @admin.display(description="last error")
    def short_last_error(self, message: OutboxMessage) -> str:
        return message.last_error[:80] + ("…" if len(message.last_error) > 80 else "")

    @admin.display(description="text as it would be sent now")
    def preview(self, message: OutboxMessage) -> str:
        # Rendered afresh, as the sender would: a message carries the registration as it
        # is now, not as it was when it was written.
        try:
            email = build_email(message)
        except Exception as error:
            problem = f"{type(error).__name__}: {error}"
            return format_html("<em>Cannot be rendered: {}</em>", problem)
        attachments = ", ".join(attachment[0] for attachment in email.attachments)
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre>{}',
            email.body,
            format_html("<p>Attachments: {}</p>", attachments) if attachments else "",
        )

    @admin.action(description="Resend selected messages", permissions=["resend"])
    def resend_messages(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        selected = list(queryset)
        count = services.resend(queryset)
        for message in selected:
            self.log_change(request, message, "Queued to be sent again.")
        self.message_user(
            request,
            f"Queued {count} message(s) to be sent again, with their attempts counted from "
            "nought; they go out within seconds once a mail server is configured (EMAIL_URL).",
            messages.SUCCESS,
        )
