from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Interaction analytics"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from analytics.services import retention
        from analytics.services.context import function_ids
        from analytics.services.server_events import (
            record_mail_sent,
            record_registration_change,
            record_waitlist_change,
        )
        from common import housekeeping
        from outbox.signals import message_sent
        from tickets.models import Function
        from tickets.signals import registration_changed, waitlist_changed

        registration_changed.connect(
            record_registration_change, dispatch_uid="analytics.record_registration_change"
        )
        message_sent.connect(record_mail_sent, dispatch_uid="analytics.record_mail_sent")
        waitlist_changed.connect(
            record_waitlist_change, dispatch_uid="analytics.record_waitlist_change"
        )
        for signal in (post_save, post_delete):
            signal.connect(
                function_ids.forget, sender=Function, weak=False, dispatch_uid="analytics.function"
            )
        # Run by the sweeper (README, "What is kept and for how long").
        housekeeping.register("interactions", retention.prune_on_schedule)
