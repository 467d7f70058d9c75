from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets and registrations"

    def ready(self) -> None:
        from common import housekeeping
        from outbox import renderers
        from tickets.live.names import push_seats_named
        from tickets.live.publisher import push_availability, push_broadcast
        from tickets.services import access, confirmation_mail, reminders, retention, waitlist
        from tickets.signals import (
            availability_changed,
            broadcast_sent,
            registration_changed,
            seat_named,
        )

        availability_changed.connect(push_availability, dispatch_uid="live-availability")
        broadcast_sent.connect(push_broadcast, dispatch_uid="live-broadcast")
        seat_named.connect(push_seats_named, dispatch_uid="live-seats-named")
        # Run by the sweeper (README, "What is kept and for how long").
        housekeeping.register("sessions", housekeeping.clear_expired_sessions)
        housekeeping.register("personal data", retention.forget_unsold_on_schedule)
        housekeeping.register("payment reminders", reminders.remind_on_schedule)
        self._connect_door_and_kitchen()
        self._connect_dashboard()
        for kind in (confirmation_mail.CONFIRMATION, confirmation_mail.ATTENDEE_TICKETS):
            renderers.register(kind, confirmation_mail.render_confirmation)
        renderers.register(access.FIND_REGISTRATIONS, access.render_find_registrations)
        renderers.register(access.MANAGE_LINK, access.render_manage_link)
        renderers.register(reminders.PAYMENT_REMINDER, reminders.render_payment_reminder)
        # The waiting list (design §13): an offer settles when its registration moves.
        registration_changed.connect(waitlist.settle_offer, dispatch_uid="waitlist-settle")
        broadcast_sent.connect(waitlist.end_for_cancelled_event, dispatch_uid="waitlist-cancel")
        for kind in (waitlist.JOINED_MAIL, waitlist.OFFER_MAIL, waitlist.CANCELLED_MAIL):
            renderers.register(kind, waitlist.render_mail)

    @staticmethod
    def _connect_door_and_kitchen() -> None:
        """Issue 14: check-ins, attendee changes, (un)confirmations and staff notes reach
        the door and kitchen pages (tickets.live.staff)."""
        from tickets.live import staff
        from tickets.signals import (
            attendee_details_changed,
            checked_in,
            registration_changed,
            staff_note_sent,
        )

        checked_in.connect(staff.push_after_check_in, dispatch_uid="live-door-check-in")
        attendee_details_changed.connect(
            staff.push_after_attendee_change, dispatch_uid="live-door-attendees"
        )
        registration_changed.connect(
            staff.push_after_registration_change, dispatch_uid="live-door-registrations"
        )
        staff_note_sent.connect(staff.push_staff_note, dispatch_uid="live-door-notes")

    @staticmethod
    def _connect_dashboard() -> None:
        """Issue 16: every change a staff dashboard shows reaches it (tickets.live.dashboard)."""
        from tickets.live import dashboard
        from tickets.signals import (
            availability_changed,
            broadcast_sent,
            checked_in,
            payment_received,
            registration_changed,
            waitlist_changed,
        )

        for signal, receiver in (
            (availability_changed, dashboard.push_after_availability),
            (registration_changed, dashboard.push_after_registration_change),
            (waitlist_changed, dashboard.push_after_waitlist_change),
            (checked_in, dashboard.push_after_check_in),
            (broadcast_sent, dashboard.push_after_broadcast),
            (payment_received, dashboard.push_after_payment),
        ):
            signal.connect(receiver, dispatch_uid=f"live-dashboard-{receiver.__name__}")
