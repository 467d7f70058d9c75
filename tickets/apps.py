from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets and registrations"

    def ready(self) -> None:
        from common import housekeeping
        from outbox import renderers
        from tickets.live.publisher import push_availability, push_broadcast
        from tickets.services import confirmation_mail, retention
        from tickets.signals import availability_changed, broadcast_sent

        availability_changed.connect(push_availability, dispatch_uid="live-availability")
        broadcast_sent.connect(push_broadcast, dispatch_uid="live-broadcast")
        # Run by the sweeper (README, "What is kept and for how long").
        housekeeping.register("sessions", housekeeping.clear_expired_sessions)
        housekeeping.register("personal data", retention.forget_unsold_on_schedule)
        for kind in (confirmation_mail.CONFIRMATION, confirmation_mail.ATTENDEE_TICKETS):
            renderers.register(kind, confirmation_mail.render_confirmation)
        # --- waiting list (design §13) ---
        from tickets.services import waitlist
        from tickets.signals import registration_changed

        registration_changed.connect(waitlist.settle_offer, dispatch_uid="waitlist-settle")
        for kind in (waitlist.JOINED_MAIL, waitlist.OFFER_MAIL):
            renderers.register(kind, waitlist.render_mail)
