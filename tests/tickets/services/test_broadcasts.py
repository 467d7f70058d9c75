"""Staff broadcasts: capacity changes, information updates, cancellations and messages
reach every open page of the function, and later page loads show them."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from tests.support import factories
from tests.support.html import elements_by_id, elements_with
from tests.support.sockets import new_session, open_socket
from tickets.models import Broadcast, Event, Hold, Registration, TicketType
from tickets.services import broadcasts, inventory, staff_edits
from tickets.services import registrations as wizard
from tickets.services.exceptions import EventCancelled, TicketingError

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("clerk", password="a-long-test-password")


@pytest.fixture
def banquet(db):
    function = factories.make_function(slug="grand-installation")
    event = factories.make_event(function, name="Grand Banquet", venue="Town Hall")
    return factories.make_ticket_type(event, name="Banquet seat", capacity=100)


async def viewer_of(function):
    """A viewer's socket on the function page, its snapshot already read."""
    socket, _ = await open_socket(function, await new_session("viewer"))
    await socket.receive_from(timeout=5)
    return socket


async def pushed(socket, kind: str) -> tuple[str, dict]:
    """Receive until a toast of `kind` arrives; the whole message and its fragments."""
    deadline = time.monotonic() + 5
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {kind} toast arrived"
        html = await socket.receive_from(timeout=remaining)
        if any(t.attrs.get("data-kind") == kind for t in elements_with(html, "data-kind")):
            return html, elements_by_id(html)


@pytest.mark.usefixtures("live_loop")
class TestEachKindReachesOpenPages:
    async def test_capacity_change(self, banquet, staff):
        socket = await viewer_of(banquet.event.function)
        await database_sync_to_async(staff_edits.save_ticket_type)(
            banquet, {"capacity"}, new_capacity=150, edited_by=staff
        )
        html, fragments = await pushed(socket, "capacity_change")
        assert "More places for Grand Banquet – Banquet seat: 150 in all." in html
        # The badge may arrive in this push or just before it; either way it says 150.
        if f"availability-{banquet.pk}" in fragments:
            assert fragments[f"availability-{banquet.pk}"].attrs["data-available"] == "150"
        await socket.disconnect()

    async def test_info_update_of_an_event_refreshes_its_details(self, banquet, staff):
        event = banquet.event
        socket = await viewer_of(event.function)
        event.venue = "Sydney Masonic Centre"
        await database_sync_to_async(staff_edits.save_event)(event, {"venue"}, edited_by=staff)
        html, fragments = await pushed(socket, "info_update")
        assert "Grand Banquet: the venue changed." in html
        details = fragments[f"event-details-{event.pk}"]
        assert "Sydney Masonic Centre" in details.text
        link = next(e for e in elements_with(html, "hx-get"))
        assert link.attrs["hx-get"] == reverse(
            "tickets:event-details", args=[event.function.slug, event.pk]
        )
        assert link.attrs["hx-target"] == f"#event-details-{event.pk}"
        await socket.disconnect()

    async def test_info_update_of_the_function(self, banquet, staff):
        function = banquet.event.function
        socket = await viewer_of(function)
        function.name = "Grand Installation 2027"
        await database_sync_to_async(staff_edits.save_function)(function, {"name"}, edited_by=staff)
        _, fragments = await pushed(socket, "info_update")
        assert "Grand Installation 2027" in fragments["function-details"].text
        await socket.disconnect()

    async def test_cancellation_banner_toast_and_personal_notice(self, banquet, staff):
        event = banquet.event
        viewer, _ = await open_socket(event.function, await new_session("viewer"))
        holder, _ = await open_socket(event.function, await new_session("holder"))
        await viewer.receive_from(timeout=5)
        await holder.receive_from(timeout=5)
        await database_sync_to_async(factories.hold)(banquet, 2, buyer="holder")
        await database_sync_to_async(broadcasts.cancel_event)(
            event.pk, reason="The hall flooded.", cancelled_by=staff
        )
        _, fragments = await pushed(viewer, "cancellation")
        status = fragments[f"event-status-{event.pk}"]
        assert status.attrs["data-status"] == "cancelled"
        assert "The hall flooded." in status.text
        assert "registration-notice" not in fragments  # the viewer held nothing
        _, holder_fragments = await pushed(holder, "cancellation")
        notice = holder_fragments["registration-notice"]
        assert "have been released" in notice.text
        for socket in (viewer, holder):
            await socket.disconnect()

    @staticmethod
    async def message_seen_by_a_viewer(function, text: str, staff) -> str:
        socket = await viewer_of(function)
        await database_sync_to_async(broadcasts.send_message)(function, text, sent_by=staff)
        html, _ = await pushed(socket, "message")
        await socket.disconnect()
        return html

    async def test_message(self, banquet, staff):
        html = await self.message_seen_by_a_viewer(
            banquet.event.function, "Doors open at 6.30 pm", staff
        )
        assert "Doors open at 6.30 pm" in html
        assert 'hx-swap-oob="afterbegin:#notices"' in html

    async def test_html_in_a_message_is_shown_as_text(self, banquet, staff):
        html = await self.message_seen_by_a_viewer(
            banquet.event.function, '<script>alert("x")</script> <b>bold</b> & more', staff
        )
        assert "<script>" not in html
        assert "<b>" not in html
        assert "&lt;script&gt;" in html
        assert "&amp; more" in html


class TestCancellation:
    def test_cancellation_releases_holds_and_flags_refunds(self, banquet, staff):
        pending = factories.hold(banquet, 3, buyer="pending").registration
        bought = factories.hold(banquet, 1, buyer="bought").registration
        factories.reach_payment(bought, [factories.attendee("A", banquet)])
        wizard.confirm_registration(bought.pk, payment_method="invoice", payment_status="paid")
        done = broadcasts.cancel_event(banquet.event_id, reason="", cancelled_by=staff)
        assert (done.released_holds, done.refunds_flagged) == (1, 1)
        banquet.refresh_from_db()
        assert (banquet.reserved, banquet.sold, banquet.withdrawn) == (0, 1, True)
        assert pending.holds.get().status == Hold.Status.RELEASED
        assert Registration.objects.get(pk=bought.pk).refund_due
        assert not Registration.objects.get(pk=pending.pk).refund_due

    def test_new_holds_are_refused_with_409(self, client, banquet, staff):
        broadcasts.cancel_event(banquet.event_id, reason="", cancelled_by=staff)
        response = client.post(
            f"{banquet.event.function.get_absolute_url()}hold/",
            {"ticket_type": banquet.pk, "quantity": 1},
        )
        assert response.status_code == 409
        assert "cancelled" in response.content.decode()
        assert factories.refreshed(banquet).reserved == 0

    def test_confirming_a_hold_on_a_cancelled_event_is_refused(self, banquet, staff):
        registration = factories.hold(banquet, 1).registration
        factories.reach_payment(registration, [factories.attendee("A", banquet)])
        Event.objects.filter(pk=banquet.event_id).update(status=Event.Status.CANCELLED)
        with pytest.raises(EventCancelled):
            wizard.confirm_registration(
                registration.pk, payment_method="invoice", payment_status="pending"
            )

    def test_cancelling_twice_is_refused(self, banquet, staff):
        broadcasts.cancel_event(banquet.event_id, reason="", cancelled_by=staff)
        with pytest.raises(TicketingError, match="already cancelled"):
            broadcasts.cancel_event(banquet.event_id, reason="", cancelled_by=staff)

    def test_the_wizard_says_what_happened(self, client, banquet, staff):
        client.post(
            f"{banquet.event.function.get_absolute_url()}hold/",
            {"ticket_type": banquet.pk, "quantity": 1},
        )
        registration = Registration.objects.get()
        broadcasts.cancel_event(banquet.event_id, reason="", cancelled_by=staff)
        page = client.get(reverse("tickets:registration-tickets", kwargs={"pk": registration.pk}))
        notice = elements_by_id(page.content.decode())["registration-notice"]
        assert "Grand Banquet has been cancelled" in notice.text
        assert "released" in notice.text

    def test_status_cannot_be_set_to_cancelled_by_an_edit(self, banquet, staff):
        banquet.event.status = Event.Status.CANCELLED
        with pytest.raises(TicketingError, match="Cancel events"):
            staff_edits.save_event(banquet.event, {"status"}, edited_by=staff)
        assert Event.objects.get(pk=banquet.event_id).status == Event.Status.PUBLISHED


class TestPersistence:
    def test_recent_broadcasts_render_on_later_page_loads(self, client, banquet, staff):
        broadcasts.send_message(banquet.event.function, "Dress: black tie", sent_by=staff)
        old = broadcasts.send_message(banquet.event.function, "Long ago", sent_by=staff)
        Broadcast.objects.filter(pk=old.pk).update(
            sent_at=timezone.now() - datetime.timedelta(days=3)
        )
        page = client.get(banquet.event.function.get_absolute_url()).content.decode()
        notices = elements_by_id(page)["notices"]
        assert "Dress: black tie" in notices.text
        assert "Long ago" not in notices.text

    def test_cancelled_banner_renders_on_later_page_loads(self, client, banquet, staff):
        broadcasts.cancel_event(banquet.event_id, reason="Sorry.", cancelled_by=staff)
        page = client.get(banquet.event.function.get_absolute_url()).content.decode()
        fragments = elements_by_id(page)
        assert fragments[f"event-status-{banquet.event_id}"].attrs["data-status"] == "cancelled"
        assert "disabled" in fragments[f"buy-{banquet.pk}"].attrs

    @pytest.mark.parametrize("text", ["", "   ", "x" * (Broadcast.MAX_MESSAGE_LENGTH + 1)])
    def test_empty_or_long_messages_are_refused(self, banquet, staff, text):
        with pytest.raises(TicketingError):
            broadcasts.send_message(banquet.event.function, text, sent_by=staff)
        assert not Broadcast.objects.exists()


class TestOnlyPermittedStaffSend:
    def _post_action(self, client, model: str, action: str, pk: int, **extra):
        return client.post(
            reverse(f"admin:tickets_{model}_changelist"),
            {"action": action, "_selected_action": [pk], **extra},
        )

    def test_staff_with_the_permission_cancels_through_a_confirmation_page(self, client, banquet):
        user = get_user_model().objects.create_user(
            "sender", password="a-long-test-password", is_staff=True
        )
        user.user_permissions.add(
            *Permission.objects.filter(codename__in=["view_event", "change_event", "cancel_event"])
        )
        client.force_login(user)
        page = self._post_action(client, "event", "cancel_events", banquet.event_id)
        assert page.status_code == 200
        assert "Cancelling cannot be undone" in page.content.decode()
        assert Event.objects.get(pk=banquet.event_id).status == Event.Status.PUBLISHED
        self._post_action(client, "event", "cancel_events", banquet.event_id, confirm="yes",
                          reason="Storm")  # fmt: skip
        assert Event.objects.get(pk=banquet.event_id).status == Event.Status.CANCELLED

    def test_the_message_permission_no_longer_cancels_events(self, client, banquet):
        # Cancelling takes seats away and flags refunds: it has its own permission.
        user = get_user_model().objects.create_user(
            "messenger", password="a-long-test-password", is_staff=True
        )
        user.user_permissions.add(
            *Permission.objects.filter(
                codename__in=["view_event", "change_event", "send_broadcast"]
            )
        )
        client.force_login(user)
        self._post_action(client, "event", "cancel_events", banquet.event_id, confirm="yes")
        assert Event.objects.get(pk=banquet.event_id).status == Event.Status.PUBLISHED

    def test_staff_without_the_permission_cannot_cancel_or_message(self, client, banquet):
        user = get_user_model().objects.create_user(
            "editor", password="a-long-test-password", is_staff=True
        )
        user.user_permissions.add(
            *Permission.objects.filter(
                codename__in=["view_event", "change_event", "view_function", "change_function"]
            )
        )
        client.force_login(user)
        self._post_action(client, "event", "cancel_events", banquet.event_id, confirm="yes")
        self._post_action(client, "function", "send_message", banquet.event.function_id,
                          send="yes", text="Hello")  # fmt: skip
        assert Event.objects.get(pk=banquet.event_id).status == Event.Status.PUBLISHED
        assert not Broadcast.objects.exists()

    def test_non_staff_are_sent_to_log_in(self, client, banquet):
        user = get_user_model().objects.create_user("member", password="a-long-test-password")
        client.force_login(user)
        response = self._post_action(
            client, "event", "cancel_events", banquet.event_id, confirm="yes"
        )
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
        assert Event.objects.get(pk=banquet.event_id).status == Event.Status.PUBLISHED

    def test_message_through_the_admin(self, admin_client, banquet):
        function = banquet.event.function
        page = self._post_action(admin_client, "function", "send_message", function.pk)
        assert "Send a message" in page.content.decode()
        self._post_action(admin_client, "function", "send_message", function.pk, send="yes",
                          text="Buses leave at 5")  # fmt: skip
        assert Broadcast.objects.get().text == "Buses leave at 5"

    def test_overlong_message_through_the_admin_shows_the_error(self, admin_client, banquet):
        page = self._post_action(admin_client, "function", "send_message",
                                 banquet.event.function_id, send="yes", text="x" * 500)  # fmt: skip
        assert "at most 280 characters" in page.content.decode()
        assert not Broadcast.objects.exists()


# --- no hold slips past a cancellation ---------------------------------------------------

IN_FLIGHT_DELAY = 0.05  # seconds between a hold's "on sale?" check and its guarded UPDATE


def race_holds_against_cancellation(ticket_type: TicketType, staff, buyers: int = 20) -> int:
    """Holds validated just before a cancellation commits reach their UPDATE after it;
    returns how many of them are still active on the cancelled event at the end."""
    start = threading.Barrier(buyers + 1)

    def buyer(n: int) -> None:
        start.wait()
        try:
            factories.hold(ticket_type, 1, buyer=f"racer-{n}")
        except TicketingError:
            pass
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(buyers)]
    for thread in threads:
        thread.start()
    start.wait()
    time.sleep(IN_FLIGHT_DELAY / 2)  # the buyers have checked "on sale" and are waiting
    broadcasts.cancel_event(ticket_type.event_id, reason="", cancelled_by=staff)
    for thread in threads:
        thread.join()
    return Hold.objects.filter(ticket_type=ticket_type, status=Hold.Status.ACTIVE).count()


@pytest.fixture
def holds_in_flight(monkeypatch):
    """Widen the window between a hold's validation and its guarded UPDATE."""
    guarded = inventory.reserve

    def reserve_late(ticket_type, seats):
        time.sleep(IN_FLIGHT_DELAY)
        return guarded(ticket_type, seats)

    monkeypatch.setattr(inventory, "reserve", reserve_late)


@pytest.mark.postgres
def test_no_hold_slips_past_a_cancellation(banquet, staff, holds_in_flight):
    assert race_holds_against_cancellation(banquet, staff) == 0
    assert factories.refreshed(banquet).reserved == 0


@pytest.mark.postgres
def test_control_without_the_withdrawn_guard_holds_slip_past(banquet, staff, monkeypatch):
    # The guarded UPDATE without "AND NOT withdrawn": what a capacity-only guard allows.
    def reserve_ignoring_withdrawal(ticket_type, seats):
        time.sleep(IN_FLIGHT_DELAY)
        return inventory._guarded_update(
            ticket_type,
            f"UPDATE {inventory._TABLE} SET reserved = reserved + %s, version = version + 1 "
            f"WHERE id = %s AND capacity - reserved - sold >= %s {inventory._RETURNING}",
            [seats, ticket_type.pk, seats],
        )

    monkeypatch.setattr(inventory, "reserve", reserve_ignoring_withdrawal)
    assert race_holds_against_cancellation(banquet, staff) > 0, "the harness missed the race"
