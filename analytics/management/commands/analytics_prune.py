import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.services import retention


class Command(BaseCommand):
    help = "Delete captured interactions that occurred more than N days ago, in batches."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--days",
            required=True,
            type=int,
            help="Keep this many days of interactions (a whole number, at least 1).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=retention.PRUNE_BATCH_SIZE,
            help="Rows deleted per transaction (default: %(default)s).",
        )

    def handle(self, *args, days: int, batch_size: int, **options) -> None:
        if days < 1:
            raise CommandError(f"--days must be a whole number of days, at least 1 (got {days}).")
        if batch_size < 1:
            raise CommandError(f"--batch-size must be at least 1 (got {batch_size}).")
        before = timezone.now() - datetime.timedelta(days=days)
        total = retention.prunable(before)
        self.stdout.write(
            f"{total:,} interaction(s) occurred before {before:%Y-%m-%d %H:%M %Z}; deleting."
        )
        deleted = 0
        for count in retention.prune(before, batch_size=batch_size):
            deleted += count
            self.stdout.write(f"  deleted {deleted:,}/{total:,}")
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted:,} interaction(s)."))
