from django.urls import path

from tickets import views

app_name = "tickets"

urlpatterns = [
    path("", views.function_list, name="function-list"),
    path("functions/<slug:slug>/", views.function_detail, name="function-detail"),
    path("functions/<slug:slug>/hold/", views.hold_create, name="hold-create"),
    path("functions/<slug:slug>/details/", views.function_details, name="function-details"),
    path(
        "functions/<slug:slug>/events/<int:event_id>/details/",
        views.event_details,
        name="event-details",
    ),
    path(
        "api/functions/<slug:slug>/availability/",
        views.availability_api,
        name="availability-api",
    ),
    path("registrations/<uuid:pk>/", views.registration_detail, name="registration"),
    path("registrations/<uuid:pk>/tickets/", views.ticket_selection, name="registration-tickets"),
    path(
        "registrations/<uuid:pk>/holds/<int:hold_id>/remove/",
        views.hold_remove,
        name="hold-remove",
    ),
    path(
        "registrations/<uuid:pk>/attendees/",
        views.attendee_details,
        name="registration-attendees",
    ),
    path("registrations/<uuid:pk>/review/", views.review, name="registration-review"),
    path("registrations/<uuid:pk>/payment/", views.payment, name="registration-payment"),
    path(
        "registrations/<uuid:pk>/confirmation/",
        views.confirmation,
        name="registration-confirmation",
    ),
    path("registrations/<uuid:pk>/cancel/", views.registration_cancel, name="registration-cancel"),
]
