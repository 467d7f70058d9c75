"""Two people on one function page: what one does, the other sees, without reloading."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.factories import hold, make_event, make_function, make_ticket_type

pytestmark = pytest.mark.browser

# htmx reconnects with jittered backoff (capped at 3 s by live.js) after a restart.
RECONNECT_TIMEOUT = 20_000


def test_availability_is_live_across_pages_and_heals_after_a_restart(asgi_server, new_context):
    function = make_function(slug="grand-installation", name="Grand Installation")
    brunch = make_ticket_type(
        make_event(function, name="Ladies' Brunch"), name="Brunch", capacity=3
    )
    url = f"{asgi_server.url}{function.get_absolute_url()}"

    buyer = new_context().new_page()
    watcher = new_context().new_page()
    for page in (buyer, watcher):
        page.goto(url)
        expect(page.locator("#live-indicator")).to_have_attribute("data-live", "true")
    watcher.evaluate("window.neverReloaded = true")
    badge = watcher.locator(f"#availability-{brunch.pk}")
    button = watcher.locator(f"#buy-{brunch.pk}")
    expect(badge).to_have_text("Only 3 left!")

    buyer.fill(f"#quantity-{brunch.pk}", "2")
    buyer.click(f"#buy-{brunch.pk}")
    expect(badge).to_have_text("Only 1 left!")
    expect(badge).to_have_attribute("data-available", "1")

    # The buyer takes the last seat from the ticket step (itself a live page).
    expect(buyer.locator("#live-indicator")).to_have_attribute("data-live", "true")
    buyer.click(f"#buy-{brunch.pk}")
    expect(badge).to_have_text("SOLD OUT")
    expect(badge).to_have_attribute("data-state", "sold_out")
    expect(button).to_be_disabled()

    buyer.click("#cancel-registration")
    expect(badge).to_have_text("Only 3 left!")
    expect(button).to_be_enabled()

    asgi_server.stop()
    expect(watcher.locator("#live-indicator")).to_have_attribute("data-live", "false")
    hold(brunch, 2, buyer="sold-while-the-server-was-down")
    asgi_server.start()
    expect(watcher.locator("#live-indicator")).to_have_attribute(
        "data-live", "true", timeout=RECONNECT_TIMEOUT
    )
    expect(badge).to_have_text("Only 1 left!")
    assert watcher.evaluate("window.neverReloaded") is True
