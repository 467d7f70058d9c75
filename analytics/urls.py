from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("events/", views.capture_events, name="events"),
]
