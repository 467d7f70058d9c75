"""Staff work here. The admin only collects input; the services apply the rules.

One module per part of the domain; importing them registers their ModelAdmins.
"""

from tickets.admin import broadcasts, events, functions, registrations

__all__ = ["broadcasts", "events", "functions", "registrations"]
