"""The hold on a wizard page, in Chromium at desktop and phone sizes: the two-minute
warning and its one extension, and an expiry that loses nothing typed. axe audits each
state the pages reach here (the warning, the expired notice, the error summary)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.support.axe import axe_violations, require_axe
from tests.support.browser import fill_attendee
from tests.support.factories import make_event, make_function, make_ticket_type
from tickets.models import Registration
from tickets.services import holds

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

# The hold POST of the contract, sent by the page itself (its session, its CSRF token),
# so these tests do not depend on how the function page lays out its buttons.
SUBMIT = """([action, fields]) => {
  const form = document.createElement("form");
  form.method = "post";
  form.action = action;
  const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  for (const [name, value] of Object.entries({...fields, csrfmiddlewaretoken: token})) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
}"""


def to_attendee_step(page, server, ticket_type, quantity: int) -> Registration:
    function = ticket_type.event.function
    page.goto(f"{server.url}{function.get_absolute_url()}")
    with page.expect_navigation():
        page.evaluate(
            SUBMIT,
            [
                f"/functions/{function.slug}/hold/",
                {"ticket_type": ticket_type.pk, "quantity": quantity},
            ],
        )
    registration = Registration.objects.get(status=Registration.Status.PENDING)
    with page.expect_navigation():
        page.evaluate(SUBMIT, [f"/registrations/{registration.pk}/tickets/", {}])
    expect(page.get_by_role("heading", name="Who is attending?")).to_be_visible()
    return registration


def hold_until(registration: Registration, seconds: float) -> None:
    """Make the hold run short (the tests never wait the real hold time)."""
    expires_at = timezone.now() + datetime.timedelta(seconds=seconds)
    Registration.objects.filter(pk=registration.pk).update(expires_at=expires_at)
    registration.holds.update(expires_at=expires_at)


@pytest.mark.parametrize("size", VIEWPORTS)
def test_two_minute_warning_one_extension_and_a_second_refused(asgi_server, new_context, size):
    require_axe()
    function = make_function(slug="grand-proclamation", name="Grand Proclamation", hold_minutes=15)
    banquet = make_ticket_type(make_event(function, name="Grand Banquet"), name="Banquet seat")
    context = new_context(viewport=VIEWPORTS[size])
    page = context.new_page()
    registration = to_attendee_step(page, asgi_server, banquet, 1)

    hold_until(registration, 100)  # inside the two minutes: warned at once
    page.reload()
    warning = page.locator("#toasts .toast[data-kind='hold_expiring']")
    expect(warning).to_be_visible()
    expect(warning.locator("#extend-hold")).to_be_visible()
    assert axe_violations(page) == []

    # The same registration open in a second tab: offered the same extension.
    other_tab = context.new_page()
    other_tab.goto(page.url)
    other_warning = other_tab.locator("#toasts .toast[data-kind='hold_expiring']")
    expect(other_warning.locator("#extend-hold")).to_be_visible()

    warning.locator("#extend-hold").click()
    expect(warning).to_contain_text("Done: your tickets are held for another")
    expect(page.locator("#hold-countdown")).to_have_text(re.compile(r"^16:\d\d$"))
    registration.refresh_from_db()
    assert registration.hold_extended_at is not None
    left = (registration.expires_at - timezone.now()).total_seconds()
    assert 15 * 60 < left <= 15 * 60 + 100

    other_warning.locator("#extend-hold").click()
    expect(other_warning).to_have_attribute("data-refused", "hold_already_extended")
    expect(other_warning).to_contain_text("already been extended once")
    # The refusal brings the second tab's countdown up to date too.
    expect(other_tab.locator("#hold-countdown")).to_have_text(re.compile(r"^16:\d\d$"))
    assert Registration.objects.get(pk=registration.pk).expires_at == registration.expires_at


@pytest.mark.parametrize("size", VIEWPORTS)
def test_expiry_on_the_attendee_step_keeps_typed_details_and_retakes_seats(
    asgi_server, new_context, size
):
    require_axe()
    function = make_function(slug="grand-proclamation", name="Grand Proclamation")
    banquet = make_ticket_type(
        make_event(function, name="Grand Banquet"), name="Banquet seat", capacity=2
    )
    page = new_context(viewport=VIEWPORTS[size]).new_page()
    registration = to_attendee_step(page, asgi_server, banquet, 2)
    hold_until(registration, 6)
    page.reload()
    page.evaluate("window.stillTheSamePage = true")

    first, second = page.locator("fieldset.attendee").all()
    fill_attendee(first, title="W.Bro.", lodge="Lodge Antiquity")
    second.get_by_label("Attending as").select_option("lady_partner")
    # Lodge fields are for Masons only.
    expect(second.get_by_label("Lodge name")).to_be_hidden()
    expect(first.get_by_label("Lodge name")).to_be_visible()
    second.get_by_label("First name").fill("Mary")
    second.get_by_label("Last name").fill("Reid")

    # 0:00: a notice, no reload, nothing typed lost.
    expect(page.locator("#hold-expired")).to_be_visible(timeout=15_000)
    expect(page.locator("#hold-countdown")).to_have_text("0:00")
    assert axe_violations(page) == []
    # The sweeper's work, done here: with Redis the sweeper is its own process, which
    # these tests do not run (on the embedded default the server's may already have).
    holds.release_expired_holds()
    assert Registration.objects.get(pk=registration.pk).status == Registration.Status.EXPIRED
    banquet.refresh_from_db()
    assert banquet.reserved == 0  # the seats were released...
    assert page.evaluate("window.stillTheSamePage") is True
    expect(first.get_by_label("First name")).to_have_value("Alan")
    expect(second.get_by_label("First name")).to_have_value("Mary")

    page.click("#continue")  # ...and are taken again, as they are still free
    expect(page.get_by_role("heading", name="Check your registration")).to_be_visible()
    expect(page.locator(".attendee-list")).to_contain_text("W.Bro. Alan Reid")
    expect(page.locator(".attendee-list")).to_contain_text("Mary Reid")
    registration.refresh_from_db()
    assert registration.status == Registration.Status.PENDING
    banquet.refresh_from_db()
    assert banquet.reserved == 2


@pytest.mark.parametrize("size", VIEWPORTS)
def test_error_summary_links_fields_and_takes_focus(asgi_server, new_context, size):
    require_axe()
    function = make_function(slug="grand-proclamation", name="Grand Proclamation")
    banquet = make_ticket_type(make_event(function, name="Grand Banquet"), name="Banquet seat")
    page = new_context(viewport=VIEWPORTS[size]).new_page()
    to_attendee_step(page, asgi_server, banquet, 1)
    attendee = page.locator("fieldset.attendee").first
    attendee.get_by_label("First name").fill("Alan")
    page.click("#continue")

    summary = page.locator("#step-error")
    expect(summary).to_be_focused()
    expect(attendee.get_by_label("First name")).to_have_value("Alan")
    summary.get_by_role("link", name="Last name").click()
    expect(attendee.get_by_label("Last name")).to_be_focused()
    assert axe_violations(page) == []


@pytest.mark.parametrize("size", VIEWPORTS)
def test_lodge_steps_expired_steps_and_a_refused_extension_have_no_violations(
    asgi_server, new_context, size
):
    require_axe()
    function = make_function(slug="grand-proclamation", name="Grand Proclamation")
    banquet = make_ticket_type(make_event(function, name="Grand Banquet"), capacity=100)
    page = new_context(viewport=VIEWPORTS[size]).new_page()
    page.goto(f"{asgi_server.url}{function.get_absolute_url()}?as=lodge")
    with page.expect_navigation():
        page.evaluate(
            SUBMIT,
            [
                f"/functions/{function.slug}/hold/",
                {"ticket_type": banquet.pk, "quantity": 1, "registration_type": "lodge"},
            ],
        )
    registration = Registration.objects.get()
    with page.expect_navigation():
        page.evaluate(SUBMIT, [f"/registrations/{registration.pk}/tickets/", {}])
    expect(page.get_by_role("heading", name="Contact details")).to_be_visible()
    seen = {"contact step": axe_violations(page)}

    page.get_by_label("Lodge name").fill("Lodge Antiquity")
    page.click("#continue")
    expect(page.locator("#step-error")).to_be_focused()
    seen["contact step, refused"] = axe_violations(page)
    page.get_by_label("Lodge number").fill("2")
    page.get_by_label("Contact name").fill("W.Bro. Alan Reid")
    page.get_by_label("Contact email").fill("alan@example.com")
    page.get_by_label("Contact phone").fill("0400 000 000")
    page.click("#continue")
    expect(page.get_by_role("heading", name="Check your registration")).to_be_visible()

    hold_until(registration, -1)
    page.reload()
    expect(page.locator("#hold-expired")).to_be_visible()
    seen["review step, expired"] = axe_violations(page)
    page.click("#continue")  # re-taken: the seats are free
    expect(page.get_by_role("heading", name="Payment")).to_be_visible()
    seen["payment step"] = axe_violations(page)

    for _ in range(2):  # the form without script: the second is refused
        with page.expect_navigation():
            page.evaluate(SUBMIT, [f"/registrations/{registration.pk}/extend/", {}])
    expect(page.locator("#step-error")).to_have_attribute("data-code", "hold_already_extended")
    seen["extension refused"] = axe_violations(page)

    assert {name: found for name, found in seen.items() if found} == {}
