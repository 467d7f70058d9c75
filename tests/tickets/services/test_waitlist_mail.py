"""The waiting list's mail over a real SMTP server: the offer's link claims the seats in
whichever browser opens it."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from outbox.delivery import deliver_due
from tests.support.factories import hold, make_ticket_type
from tickets.models import WaitlistEntry
from tickets.services import holds, waitlist

pytestmark = pytest.mark.django_db(transaction=True)


def test_joining_and_the_offer_are_mailed_with_a_link_that_claims(smtp_server, settings):
    settings.SITE_URL = "http://testserver"
    ticket_type = make_ticket_type(capacity=1, name="Banquet seat")
    holder = hold(ticket_type, 1, buyer="holder").registration
    entry = waitlist.join(
        waitlist.JoinRequest(
            function=ticket_type.event.function,
            ticket_type_id=ticket_type.pk,
            quantity=1,
            name="Alan Reid",
            email="alan@example.com",
        )
    )
    holds.cancel_registration(holder.pk)

    assert deliver_due() == 2
    joined, offered = sorted(
        smtp_server.wait_for(2), key=lambda m: "waiting list" not in m["Subject"]
    )
    assert joined["To"] == offered["To"] == "alan@example.com"
    assert "on the waiting list" in joined["Subject"]
    text = offered.get_body(("plain",)).get_content()
    assert "1 × Banquet seat are held for you" in text
    link = re.search(r"http://testserver(/waitlist/\S+/manage/\S+/)", text).group(1)

    browser = Client()  # any browser: the mail may be read on a phone
    response = browser.get(link)
    entry.refresh_from_db()
    assert response.status_code == 303
    assert response["Location"] == entry.offered_registration.get_absolute_url()
    assert browser.get(response["Location"], follow=True).status_code == 200
    assert WaitlistEntry.objects.get().status == WaitlistEntry.Status.OFFERED
