"""WebSocket routes: one socket per page, per function."""

from django.urls import path

from tickets.live.consumer import FunctionConsumer
from tickets.live.names_consumer import NamesConsumer

websocket_urlpatterns = [
    path("ws/functions/<slug:slug>/", FunctionConsumer.as_asgi()),
    # Names pages (docs/design.md §11): the owner's and the share link's.
    path("ws/registrations/<uuid:pk>/names/", NamesConsumer.as_asgi()),
    path("ws/tables/<str:token>/", NamesConsumer.as_asgi()),
]
