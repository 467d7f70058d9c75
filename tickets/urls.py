from django.urls import path

from tickets.views import access, catalogue, holds, names, wizard

app_name = "tickets"

urlpatterns = [
    path("", catalogue.function_list, name="function-list"),
    path("functions/<slug:slug>/", catalogue.function_detail, name="function-detail"),
    path("functions/<slug:slug>/hold/", holds.hold_create, name="hold-create"),
    path("functions/<slug:slug>/details/", catalogue.function_details, name="function-details"),
    path(
        "functions/<slug:slug>/events/<int:event_id>/details/",
        catalogue.event_details,
        name="event-details",
    ),
    path(
        "api/functions/<slug:slug>/availability/",
        catalogue.availability_api,
        name="availability-api",
    ),
    path("registrations/<uuid:pk>/", wizard.registration_detail, name="registration"),
    path("registrations/<uuid:pk>/tickets/", wizard.ticket_selection, name="registration-tickets"),
    path(
        "registrations/<uuid:pk>/holds/<int:hold_id>/remove/",
        holds.hold_remove,
        name="hold-remove",
    ),
    path(
        "registrations/<uuid:pk>/attendees/",
        wizard.attendee_details,
        name="registration-attendees",
    ),
    path("registrations/<uuid:pk>/review/", wizard.review, name="registration-review"),
    path("registrations/<uuid:pk>/payment/", wizard.payment, name="registration-payment"),
    path(
        "registrations/<uuid:pk>/confirmation/",
        wizard.confirmation,
        name="registration-confirmation",
    ),
    path("registrations/<uuid:pk>/extend/", wizard.extend, name="registration-extend"),
    path("registrations/<uuid:pk>/cancel/", holds.registration_cancel, name="registration-cancel"),
    path("registrations/<uuid:pk>/manage/<str:token>/", access.manage, name="registration-manage"),
    path("registrations/<uuid:pk>/names/", names.registration_names, name="registration-names"),
    path("registrations/<uuid:pk>/names/share/", names.share_link, name="registration-names-share"),
    path("tables/<str:token>/", names.table_names, name="table-names"),
]
