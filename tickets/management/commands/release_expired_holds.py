import logging

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connections

from common import loops
from common.health import beat
from common.housekeeping import Schedule
from outbox.loop import Sender
from tickets.services.holds import Sweep, release_expired_holds

logger = logging.getLogger("tickets.sweeper")


class Command(BaseCommand):
    help = (
        "Release holds whose time is up and broadcast the seats coming back. With --loop, "
        "keep sweeping every few seconds (the production sweeper), and every "
        "HOUSEKEEPING_INTERVAL seconds clear expired sessions, prune old interactions and "
        "forget unsold registrations' people. It also delivers the outgoing mail, on a thread "
        "of its own so a slow mail server never delays a sweep (--without-mail: leave that "
        "to a send_outbox --loop)."
    )

    def add_arguments(self, parser) -> None:
        loops.add_loop_arguments(
            parser,
            default_interval=settings.HOLD_SWEEP_INTERVAL,
            loop_help="Keep sweeping until stopped.",
            interval_help="Seconds between sweeps with --loop",
        )
        parser.add_argument(
            "--without-mail",
            action="store_true",
            help="With --loop, do not deliver the outbox (another process does).",
        )

    def handle(self, *args, loop: bool, interval: float, without_mail: bool, **options) -> None:
        loops.check_interval(interval)
        if not loop:
            self._report(release_expired_holds(), always=True)
            return
        stopped = loops.stop_on_signals()
        self.stdout.write(f"Sweeping expired holds every {interval:g}s; Ctrl-C to stop.")
        housekeeping = Schedule(settings.HOUSEKEEPING_INTERVAL)
        # On its own thread: a send waits up to EMAIL_TIMEOUT at every step, and holds
        # must expire on time whatever the mail server does.
        sender = None if without_mail else Sender().start()
        while not stopped.is_set():
            # Before the sweep, so a sweep that hangs (or a stopped process) stops the
            # beats, and /readyz says "sweeper": "stale" (common/health.py).
            beat("sweeper")
            close_old_connections()
            try:
                self._report(release_expired_holds())
            except DatabaseError:
                # The database restarting must not kill the sweeper; try again next tick.
                logger.exception("Sweep failed; retrying in %ss", interval)
                connections.close_all()
            # In the sweeper, not a daemon of its own: it runs once per host in every
            # shape. Each job logs its own failure and is tried again next time.
            for line in housekeeping.run_due():
                self.stdout.write(f"Housekeeping: {line}")
            loops.sleep_unless_stopped(stopped, interval)
        if sender is not None and not sender.stop():
            self.stdout.write("Left a mail send in progress to finish or time out.")
        self.stdout.write("Sweeper stopped.")

    def _report(self, sweep: Sweep, always: bool = False) -> None:
        if sweep.registrations or always:
            self.stdout.write(
                f"Released {sweep.holds} expired hold(s) of {sweep.registrations} expired "
                "registration(s)."
            )
