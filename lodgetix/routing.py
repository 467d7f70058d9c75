"""WebSocket routes: one socket per page, per function."""

from django.urls import path

from tickets.live.consumer import FunctionConsumer

websocket_urlpatterns = [
    path("ws/functions/<slug:slug>/", FunctionConsumer.as_asgi()),
]
