from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets and registrations"

    def ready(self) -> None:
        from common import housekeeping
        from outbox import renderers
        from tickets.live.publisher import push_availability, push_broadcast
        from tickets.services import access, confirmation_mail, retention
        from tickets.signals import availability_changed, broadcast_sent

        availability_changed.connect(push_availability, dispatch_uid="live-availability")
        broadcast_sent.connect(push_broadcast, dispatch_uid="live-broadcast")
        # Run by the sweeper (README, "What is kept and for how long").
        housekeeping.register("sessions", housekeeping.clear_expired_sessions)
        housekeeping.register("personal data", retention.forget_unsold_on_schedule)
        for kind in (confirmation_mail.CONFIRMATION, confirmation_mail.ATTENDEE_TICKETS):
            renderers.register(kind, confirmation_mail.render_confirmation)
        renderers.register(access.FIND_REGISTRATIONS, access.render_find_registrations)
        renderers.register(access.MANAGE_LINK, access.render_manage_link)
