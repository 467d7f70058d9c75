from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets and registrations"

    def ready(self) -> None:
        from tickets.live.publisher import push_availability, push_broadcast
        from tickets.signals import availability_changed, broadcast_sent

        availability_changed.connect(push_availability, dispatch_uid="live-availability")
        broadcast_sent.connect(push_broadcast, dispatch_uid="live-broadcast")
