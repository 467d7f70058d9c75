from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets and registrations"

    def ready(self) -> None:
        from common import housekeeping
        from tickets.live.publisher import push_availability, push_broadcast
        from tickets.services import retention
        from tickets.signals import availability_changed, broadcast_sent

        availability_changed.connect(push_availability, dispatch_uid="live-availability")
        broadcast_sent.connect(push_broadcast, dispatch_uid="live-broadcast")
        # Run by the sweeper (README, "What is kept and for how long").
        housekeeping.register("sessions", housekeeping.clear_expired_sessions)
        housekeeping.register("personal data", retention.forget_unsold_on_schedule)
