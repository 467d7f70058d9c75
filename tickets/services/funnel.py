"""Where people give up: a function's registration funnel (issue: presence and expiry).

"Reached" counts registrations whose furthest step is at or past a step; "expired here"
counts registrations that were expired while at that step. One aggregate query, and one
more for the waiting list's conversions.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q

from tickets.models import Function, Registration, WaitlistEntry

Status = Registration.Status
Step = Registration.Step


@dataclass(frozen=True)
class FunnelStep:
    step: str
    label: str
    reached: int
    expired_here: int

    def share_of(self, started: int) -> float:
        """The part of all started registrations that got this far, 0-100."""
        return 100 * self.reached / started if started else 0.0


@dataclass(frozen=True)
class Funnel:
    steps: list[FunnelStep]
    confirmed: int
    expired: int
    cancelled: int
    in_progress: int
    # The waiting list (design §13): people who joined, were offered seats, and took them
    # up to a confirmed registration.
    waitlist_joined: int = 0
    waitlist_offered: int = 0
    waitlist_converted: int = 0

    @property
    def waitlist_conversion(self) -> float:
        """Offers that became confirmed registrations, 0-100."""
        return 100 * self.waitlist_converted / self.waitlist_offered if self.waitlist_offered else 0

    @property
    def started(self) -> int:
        return self.steps[0].reached if self.steps else 0


def funnel_of(
    function: Function,
    *,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> Funnel:
    """The funnel of registrations started between `since` and `until` (inclusive)."""
    registrations = Registration.objects.filter(function=function)
    if since:
        registrations = registrations.filter(created_at__date__gte=since)
    if until:
        registrations = registrations.filter(created_at__date__lte=until)
    order = Registration.STEP_ORDER
    counts = registrations.aggregate(
        **{
            f"reached_{step}": Count("pk", filter=Q(furthest_step__in=order[index:]))
            for index, step in enumerate(order)
        },
        **{
            f"expired_{step}": Count("pk", filter=Q(status=Status.EXPIRED, step=step))
            for step in order
        },
        confirmed=Count("pk", filter=Q(status=Status.CONFIRMED)),
        expired=Count("pk", filter=Q(status=Status.EXPIRED)),
        cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
        in_progress=Count("pk", filter=Q(status=Status.PENDING)),
    )
    entries = WaitlistEntry.objects.filter(ticket_type__event__function=function)
    if since:
        entries = entries.filter(created_at__date__gte=since)
    if until:
        entries = entries.filter(created_at__date__lte=until)
    waiting = entries.aggregate(
        joined=Count("pk"),
        offered=Count("pk", filter=Q(offered_at__isnull=False)),
        converted=Count("pk", filter=Q(status=WaitlistEntry.Status.ACCEPTED)),
    )
    return Funnel(
        waitlist_joined=waiting["joined"],
        waitlist_offered=waiting["offered"],
        waitlist_converted=waiting["converted"],
        steps=[
            FunnelStep(
                step=step,
                label=label,
                reached=counts[f"reached_{step}"],
                expired_here=counts[f"expired_{step}"],
            )
            for step, label in Step.choices
        ],
        confirmed=counts["confirmed"],
        expired=counts["expired"],
        cancelled=counts["cancelled"],
        in_progress=counts["in_progress"],
    )
