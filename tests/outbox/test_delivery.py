"""Delivery over a real SMTP server (tests/support/smtp.py)."""

from __future__ import annotations

import pytest

from outbox.delivery import deliver_due
from outbox.models import OutboxMessage
from tests.support import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_confirmation_reaches_the_contact_over_smtp(smtp_server) -> None:
    ticket_type = factories.make_ticket_type()
    registration = factories.confirm(ticket_type, 2, email="sec@example.com")

    assert deliver_due() == 1

    [message] = smtp_server.wait_for(1)
    assert message["To"] == "sec@example.com"
    assert registration.confirmation_number in message["Subject"]
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.SENT
