"""The door page's camera path: Chromium's fake camera shows a ticket's QR code, ZXing
(the pinned npm package) decodes it in the page, and the ticket is checked in."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.test_door import PHONE, sign_in
from tests.conftest import CHROMIUM, REQUIRE_SERVICES
from tests.support.door import confirmed_individuals, tickets_of
from tests.support.factories import make_event, make_ticket_type, staff_user
from tests.support.fake_camera import qr_frame, write_y4m
from tickets.models import CheckIn, Ticket
from tickets.views.staff import ZXING_STATIC

pytestmark = pytest.mark.browser

# The code the fake camera shows; the test gives it to a ticket.
CODE = "camera-test-code-0123456789abcd"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Chromium whose camera is a video of CODE's QR code (replaces the module-wide one)."""
    import os

    from playwright.sync_api import sync_playwright

    if not finders.find(ZXING_STATIC):
        reason = "missing tool: @zxing/library in node_modules (npm ci)"
        if REQUIRE_SERVICES:
            pytest.fail(reason + " (LODGETIX_REQUIRE_SERVICES=1)", pytrace=False)
        pytest.skip(reason)
    video = write_y4m(tmp_path_factory.mktemp("camera") / "qr.y4m", qr_frame(CODE))
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    yield chromium
    chromium.close()
    playwright.stop()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def test_the_camera_sees_a_ticket_and_checks_it_in(asgi_server, new_context):
    banquet = make_ticket_type(make_event(name="Grand Banquet"), name="Banquet seat")
    ticket = tickets_of(confirmed_individuals(banquet, "Alan"))[0]
    Ticket.objects.filter(pk=ticket.pk).update(code=CODE)
    staff_user("north", "check_in")
    context = new_context(**PHONE)
    context.grant_permissions(["camera"])
    page = context.new_page()
    sign_in(page, asgi_server.url, "north")
    page.goto(f"{asgi_server.url}/staff/checkin/{banquet.event_id}/?door=North")

    page.click("#camera-start")

    result = page.locator("#scan-result")
    expect(result).to_have_attribute("data-result", "ok", timeout=15_000)
    expect(result).to_contain_text("Alan Reid")
    expect(page.locator(f"#checkin-count-{banquet.event_id}")).to_have_attribute(
        "data-checked-in", "1"
    )
    assert CheckIn.objects.get().ticket_id == ticket.pk
