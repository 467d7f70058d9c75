"""Eligibility and the lodge search in Chromium (docs/design.md §15): a guest is not
offered the Masons-only ticket and is told why; a Mason picks their lodge from the
search with the keyboard, and the registration names the listed lodge."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.axe import axe_violations, require_axe
from tests.support.browser import fill_attendee
from tests.support.factories import make_event, make_function, make_ticket_type
from tickets.models import Attendee, GrandLodge, Lodge

pytestmark = pytest.mark.browser


def test_a_guest_is_not_offered_the_masons_only_ticket(asgi_server, page):
    require_axe()
    nsw = GrandLodge.objects.create(name="UGL of NSW and ACT", abbreviation="UGLNSW&ACT")
    harmony = Lodge.objects.create(grand_lodge=nsw, name="Lodge Harmony", number="5")
    function = make_function()
    communication = make_event(function, name="Quarterly Communication")
    admission = make_ticket_type(
        communication, name="Admission", eligible_attendee_types=[Attendee.Type.MASON]
    )
    banquet = make_ticket_type(make_event(function, name="Grand Banquet"), name="Banquet seat")

    page.goto(f"{asgi_server.url}{function.get_absolute_url()}")
    expect(page.locator(f"#eligibility-{admission.pk}")).to_have_text("Masons only")
    page.fill(f"#quantity-{admission.pk}", "1")
    page.fill(f"#quantity-{banquet.pk}", "2")
    page.click("#hold-selection")
    expect(page.get_by_role("heading", name="Your tickets")).to_be_visible()
    page.click("#continue")
    expect(page.get_by_role("heading", name="Who is attending?")).to_be_visible()

    mason, guest = page.locator("fieldset.attendee").all()
    seat = guest.get_by_label("Quarterly Communication")
    option = seat.locator(f"option[value='{admission.pk}']")
    expect(option).to_be_enabled()  # a Mason by default: offered
    fill_attendee(guest, attending_as="guest", first_name="Gwen", email=None, phone=None)
    expect(option).to_be_disabled()
    expect(option).to_be_hidden()
    expect(guest.locator("[data-not-offered-note]")).to_have_text(
        "Not offered: Admission is for Masons only."
    )
    expect(mason.get_by_label("Quarterly Communication").locator(
        f"option[value='{admission.pk}']"
    )).to_be_enabled()  # fmt: skip

    # The Mason's lodge, from the search: type, arrow down, Enter.
    fill_attendee(mason)
    lodge_name = mason.get_by_label("Lodge name")
    lodge_name.press_sequentially("harm")
    listbox = mason.get_by_role("listbox")
    expect(listbox.get_by_role("option", name="Lodge Harmony No. 5 UGLNSW&ACT")).to_be_visible()
    expect(lodge_name).to_have_attribute("aria-expanded", "true")
    assert axe_violations(page) == []
    lodge_name.press("ArrowDown")
    expect(lodge_name).to_have_attribute(
        "aria-activedescendant", f"{listbox.get_attribute('id')}-{harmony.pk}"
    )
    lodge_name.press("Enter")
    expect(lodge_name).to_have_value("Lodge Harmony")
    expect(mason.get_by_label("Lodge number")).to_have_value("5")
    expect(listbox).to_be_hidden()
    expect(lodge_name).to_be_focused()

    page.click("#continue")
    expect(page.get_by_role("heading", name="Check your registration")).to_be_visible()
    lead = Attendee.objects.get(first_name="Alan")
    assert lead.lodge == harmony
    assert {t.hold.ticket_type_id for t in lead.tickets.all()} == {admission.pk, banquet.pk}
    assert {
        t.hold.ticket_type_id for t in Attendee.objects.get(first_name="Gwen").tickets.all()
    } == {banquet.pk}
