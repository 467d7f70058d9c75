"""WebSocket routes: one socket per page, per function."""

from django.urls import path

from tickets.live.consumer import FunctionConsumer
from tickets.live.dashboard import DashboardConsumer
from tickets.live.names_consumer import NamesConsumer
from tickets.live.staff import StaffEventConsumer
from tickets.live.waitlist import WaitlistEntryConsumer

websocket_urlpatterns = [
    path("ws/functions/<slug:slug>/", FunctionConsumer.as_asgi()),
    # Staff only: an event's door and kitchen pages (issue 14).
    path("ws/staff/events/<int:event_id>/", StaffEventConsumer.as_asgi()),
    # Staff only: a function's live dashboard (issue 16).
    path("ws/staff/functions/<slug:slug>/", DashboardConsumer.as_asgi()),
    # The waiting-list entry page: the function socket plus the entry (design §13).
    path("ws/waitlist/<uuid:uuid>/", WaitlistEntryConsumer.as_asgi()),
    # Names pages (docs/design.md §11): the owner's and the share link's.
    path("ws/registrations/<uuid:pk>/names/", NamesConsumer.as_asgi()),
    path("ws/tables/<str:token>/", NamesConsumer.as_asgi()),
]
