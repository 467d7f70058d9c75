from django.urls import path

from tickets.views import (
    access,
    catalogue,
    dashboard,
    holds,
    lodges,
    names,
    staff,
    waitlist,
    wizard,
)

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
    path("registrations/find/", access.find, name="registration-find"),
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
    # --- the door and the kitchen (issue 14) ---
    path("staff/checkin/<int:event_id>/", staff.door, name="door"),
    path("staff/checkin/<int:event_id>/search/", staff.door_search, name="door-search"),
    path("staff/checkin/<int:event_id>/paid/", staff.door_payment, name="door-payment"),
    path("staff/kitchen/<int:event_id>/", staff.kitchen_page, name="kitchen"),
    path(
        "staff/kitchen/<int:event_id>/names/<slug:need>/",
        staff.kitchen_names,
        name="kitchen-names",
    ),
    path("staff/events/<int:event_id>/notes/", staff.send_note, name="staff-note"),
    # --- the staff dashboard (issue 16) ---
    path("staff/functions/<slug:slug>/", dashboard.dashboard_page, name="dashboard"),
    path(
        "staff/functions/<slug:slug>/broadcast/",
        dashboard.dashboard_broadcast,
        name="dashboard-broadcast",
    ),
    # --- waiting list (design §13) ---
    path("functions/<slug:slug>/waitlist/", waitlist.join, name="waitlist-create"),
    path("waitlist/join/<int:ticket_type_id>/", waitlist.join_form, name="waitlist-join"),
    path("waitlist/<uuid:uuid>/", waitlist.entry_page, name="waitlist-entry"),
    path("waitlist/<uuid:uuid>/leave/", waitlist.leave, name="waitlist-leave"),
    path("waitlist/<uuid:uuid>/claim/", waitlist.claim, name="waitlist-claim"),
    path("waitlist/<uuid:uuid>/manage/<str:token>/", waitlist.manage, name="waitlist-manage"),
    path("registrations/<uuid:pk>/names/", names.registration_names, name="registration-names"),
    path("registrations/<uuid:pk>/names/share/", names.share_link, name="registration-names-share"),
    path("tables/<str:token>/", names.table_names, name="table-names"),
    # --- lodges (design §15) ---
    path("lodges/search/", lodges.lodge_search, name="lodge-search"),
]
