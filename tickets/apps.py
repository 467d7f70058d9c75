from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets and registrations"

    def ready(self) -> None:
        from common import housekeeping
        from outbox import renderers
        from tickets.live.names import push_seats_named
        from tickets.live.publisher import push_availability, push_broadcast
        from tickets.services import confirmation_mail, retention
        from tickets.signals import availability_changed, broadcast_sent, seat_named

        availability_changed.connect(push_availability, dispatch_uid="live-availability")
        broadcast_sent.connect(push_broadcast, dispatch_uid="live-broadcast")
        seat_named.connect(push_seats_named, dispatch_uid="live-seats-named")
        # Run by the sweeper (README, "What is kept and for how long").
        housekeeping.register("sessions", housekeeping.clear_expired_sessions)
        housekeeping.register("personal data", retention.forget_unsold_on_schedule)
        for kind in (confirmation_mail.CONFIRMATION, confirmation_mail.ATTENDEE_TICKETS):
            renderers.register(kind, confirmation_mail.render_confirmation)
