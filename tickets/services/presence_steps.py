"""The step presence shows for each person: the one the server knows, never the browser's.

Presence (the `presence` app) counts people per step but knows nothing of registrations;
the live path hands it `steps_of` (through database_sync_to_async) to re-read everyone's
step at connect and at every heartbeat.
"""

from __future__ import annotations

from collections.abc import Iterable

from tickets.models import Registration


def steps_of(function_id: int, people: Iterable[str]) -> dict[str, str]:
    """Each person's step: that of their open registration, "confirmation" once they have
    confirmed one, else ticket selection (browsing the function page). One query for all
    of them."""
    people = list(people)
    open_steps: dict[str, str] = {}
    confirmed: set[str] = set()
    for person, status, step in Registration.objects.filter(
        function_id=function_id,
        buyer_key__in=people,
        status__in=[Registration.Status.PENDING, Registration.Status.CONFIRMED],
    ).values_list("buyer_key", "status", "step"):
        if status == Registration.Status.PENDING:
            open_steps[person] = step
        else:
            confirmed.add(person)
    Step = Registration.Step
    return {
        person: open_steps.get(person)
        or (Step.CONFIRMATION if person in confirmed else Step.TICKET_SELECTION)
        for person in people
    }
