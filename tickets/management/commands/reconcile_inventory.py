from django.core.management.base import BaseCommand, CommandError

from tickets.services.reconciliation import check_counters, fix_counters


class Command(BaseCommand):
    help = (
        "Recompute every ticket type's reserved and sold counters from its holds, and its "
        "waiting count from its waiting list, and report drift; with --fix, repair it. Exits "
        "non-zero when drift remains."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--fix", action="store_true", help="Rewrite drifted counters from the holds."
        )

    def handle(self, *args, fix: bool, **options) -> None:
        checks = check_counters()
        drifted = [check for check in checks if check.drifted]
        self.stdout.write(f"Checked {len(checks)} ticket types: {len(drifted)} drifted.")
        if not drifted:
            self.stdout.write(
                self.style.SUCCESS("No drift: counters match the holds and waiting lists.")
            )
            return
        header = f"{'ticket type':<50} {'reserved':>15} {'sold':>15} {'waiting':>15}"
        self.stdout.write(header)
        for check in drifted:
            self.stdout.write(
                f"{check.label[:50]:<50} "
                f"{f'{check.reserved} -> {check.expected_reserved}':>15} "
                f"{f'{check.sold} -> {check.expected_sold}':>15} "
                f"{f'{check.waiting} -> {check.expected_waiting}':>15}"
            )
        if not fix:
            raise CommandError(f"{len(drifted)} ticket type(s) drifted; run with --fix to repair.")
        unfixed = []
        for index, check in enumerate(drifted, start=1):
            if not fix_counters(check.ticket_type_id):
                unfixed.append(check)
            self.stdout.write(f"  fixed {index}/{len(drifted)}", ending="\r")
        self.stdout.write("")
        for check in unfixed:
            self.stderr.write(
                f"Cannot fix {check.label}: its holds add up to "
                f"{check.expected_reserved + check.expected_sold} seats, more than its capacity "
                f"of {check.capacity}. Raise the capacity or release holds, then run again."
            )
        if unfixed:
            raise CommandError(f"{len(unfixed)} ticket type(s) could not be fixed.")
        self.stdout.write(self.style.SUCCESS(f"Fixed {len(drifted)} ticket type(s)."))
