from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from common import loops
from outbox.delivery import Delivery, deliver
from outbox.loop import Sender


class Command(BaseCommand):
    help = (
        "Deliver the outgoing mail that is due, with retries and backoff (docs/design.md §10). "
        "Once by default; with --loop, keep delivering until stopped. The sweeper "
        "(release_expired_holds --loop) and the embedded server already do this: run it "
        "to send now, or as a sender of its own. Any number may run at once."
    )

    def add_arguments(self, parser) -> None:
        loops.add_loop_arguments(
            parser,
            default_interval=settings.OUTBOX_SEND_INTERVAL,
            loop_help="Keep delivering until stopped.",
            interval_help="Seconds between passes with --loop",
        )
        parser.add_argument(
            "--batch",
            type=int,
            default=50,
            help="Messages per pass (default: %(default)s).",
        )

    def handle(self, *args, loop: bool, interval: float, batch: int, **options) -> None:
        loops.check_interval(interval)
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        if loop:
            self._loop(interval, batch)
        else:
            self._once(batch)

    def _once(self, batch: int) -> None:
        """Every message due now, batch by batch, until none is left or the server is
        unavailable."""
        total = Delivery()
        while True:
            delivery = deliver(batch)
            for name in ("sent", "printed", "retrying", "failed", "deferred"):
                setattr(total, name, getattr(total, name) + getattr(delivery, name))
            total.server_unavailable_until = delivery.server_unavailable_until
            if delivery.tried < batch or delivery.server_unavailable_until:
                break
            self.stdout.write(f"... {total.tried} message(s) tried so far")
        self.stdout.write(str(total))

    def _loop(self, interval: float, batch: int) -> None:
        stopped = loops.stop_on_signals()
        sender = Sender(interval, batch).start()
        self.stdout.write(f"Sending the outbox every {interval:g}s; Ctrl-C to stop.")
        loops.sleep_unless_stopped(stopped)
        sender.stop()
        self.stdout.write("Sender stopped.")
