"""Staff work here. The admin only collects input; the services apply the rules.

One module per part of the domain; importing them registers their ModelAdmins.
"""

from tickets.admin import (
    audit,
    broadcasts,
    events,
    functions,
    lodges,
    packages,
    registrations,
    waitlist,
)

__all__ = [
    "audit",
    "broadcasts",
    "events",
    "functions",
    "lodges",
    "packages",
    "registrations",
    "waitlist",
]
