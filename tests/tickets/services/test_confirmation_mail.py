"""The confirmation message end to end: confirmed through the wizard's services, delivered
by outbox.delivery over a real SMTP server (aiosmtpd in this process), then read back with
libraries that did not write it (tests/support/documents.py)."""

from __future__ import annotations

import datetime
import time
from decimal import Decimal
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest

from outbox.delivery import deliver_due
from outbox.models import OutboxMessage
from tests.support import factories
from tests.support.documents import calendar_events, pdf_pages_text, qr_codes_per_page
from tickets.models import Attendee, Registration, Ticket
from tickets.services import access
from tickets.services import registrations as wizard
from tickets.services.confirmation_mail import render_confirmation

pytestmark = pytest.mark.django_db(transaction=True)

SYDNEY = ZoneInfo("Australia/Sydney")
BANQUET_STARTS = datetime.datetime(2027, 3, 6, 18, 30, tzinfo=SYDNEY)
CEREMONY_STARTS = datetime.datetime(2027, 3, 6, 10, 0, tzinfo=SYDNEY)


@pytest.fixture
def function():
    return factories.make_function(
        name="Grand Proclamation 2027",
        venue="Sydney Masonic Centre",
        organiser_name="United Grand Lodge of NSW & ACT",
        organiser_abn="93 000 000 001",
    )


@pytest.fixture
def ceremony(function):
    event = factories.make_event(
        function,
        name="Proclamation Ceremony",
        starts_at=CEREMONY_STARTS,
        ends_at=CEREMONY_STARTS + datetime.timedelta(hours=3),
        position=1,
    )
    return factories.make_ticket_type(
        event, name="Ceremony seat", price=Decimal("50.00"), sold_by_table=False
    )


@pytest.fixture
def banquet(function):
    event = factories.make_event(
        function,
        name="Grand Banquet",
        venue="Sydney Town Hall",
        starts_at=BANQUET_STARTS,
        ends_at=BANQUET_STARTS + datetime.timedelta(hours=4),
        position=2,
    )
    return factories.make_ticket_type(
        event, name="Banquet dinner", price=Decimal("115.00"), capacity=480
    )


def confirm_lodge(banquet, ceremony, *, tables: int = 2, ceremony_seats: int = 2) -> Registration:
    """A lodge buying banquet tables and a few ceremony seats, no names yet, by invoice."""
    registration = factories.hold(
        banquet, tables, buyer="lodge", registration_type=Registration.Type.LODGE
    ).registration
    factories.hold(ceremony, ceremony_seats, buyer="lodge", registration_type="lodge")
    wizard.continue_to_attendee_details(registration.pk)
    contact = wizard.ContactDetails(
        contact_name="W.Bro. Sec",
        contact_email="sec@antiquity.example",
        contact_phone="1",
        lodge_name="Lodge Antiquity",
        lodge_number="1",
    )
    wizard.save_attendee_details(registration.pk, contact, [])
    wizard.continue_to_payment(registration.pk)
    return wizard.confirm_registration(
        registration.pk,
        payment_method="invoice",
        payment_status=Registration.PaymentStatus.PENDING,
    )


def confirm_individual(banquet, attendees) -> Registration:
    registration = factories.hold(banquet, len(attendees), buyer="alan").registration
    factories.reach_payment(registration, attendees)
    return wizard.confirm_registration(
        registration.pk, payment_method="door", payment_status=Registration.PaymentStatus.PENDING
    )


def attachments_of(message: EmailMessage) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in message.iter_attachments()}


def bodies_of(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


def delivered(smtp_server, count: int) -> dict[str, EmailMessage]:
    assert deliver_due() == count
    return {message["To"]: message for message in smtp_server.wait_for(count)}


class TestTheContactsConfirmation:
    def test_arrives_with_text_html_invoice_tickets_and_an_ics_per_event(
        self, smtp_server, banquet, ceremony
    ) -> None:
        registration = confirm_lodge(banquet, ceremony)
        number = registration.confirmation_number
        codes = set(
            Ticket.objects.filter(hold__registration=registration).values_list("code", flat=True)
        )
        assert len(codes) == 22

        message = delivered(smtp_server, 1)["sec@antiquity.example"]

        assert "Grand Proclamation 2027" in message["Subject"]
        assert number in message["Subject"]
        text, html = bodies_of(message)
        manage_url = access.manage_url(registration)
        # 20 seats at $115 and 2 at $50: $2,400.00, of which GST is $218.18.
        for body in (text, html):
            assert "Grand Banquet: Banquet dinner" in body
            assert "2 tables (20 seats)" in body
            assert "$115.00" in body
            assert "$2,300.00" in body
            assert "Proclamation Ceremony: Ceremony seat" in body
            assert "$2,400.00" in body
            assert "GST included" in body
            assert "$218.18" in body
            assert "United Grand Lodge of NSW" in body
            assert "ABN 93 000 000 001" in body
            assert "by bank transfer" in body
            assert manage_url in body
        assert f'href="{manage_url}"' in html

        files = attachments_of(message)
        assert set(files) == {
            f"tax-invoice-{number}.pdf",
            f"tickets-{number}.pdf",
            f"{banquet.event.slug}.ics",
            f"{ceremony.event.slug}.ics",
        }
        [invoice] = pdf_pages_text(files[f"tax-invoice-{number}.pdf"])
        for expected in ("Tax invoice", number, "ABN 93 000 000 001", "Lodge Antiquity No. 1"):
            assert expected in invoice
        assert "$2,400.00" in invoice
        assert "$218.18" in invoice

        tickets = files[f"tickets-{number}.pdf"]
        pages = pdf_pages_text(tickets)
        assert len(pages) == 22
        # Every code printed once, each QR decoding to the code printed on its own page.
        decoded = qr_codes_per_page(tickets)
        assert all(len(on_page) == 1 for on_page in decoded)
        assert {on_page[0] for on_page in decoded} == codes
        for [code], page in zip(decoded, pages, strict=True):
            assert code in page
        assert sum("Unnamed seat (lodge table 2)" in page for page in pages) == 10

        [banquet_entry] = calendar_events(files[f"{banquet.event.slug}.ics"])
        assert banquet_entry.decoded("dtstart") == BANQUET_STARTS
        assert banquet_entry.decoded("dtend") == BANQUET_STARTS + datetime.timedelta(hours=4)
        assert str(banquet_entry["location"]) == "Sydney Town Hall"
        assert "Grand Banquet" in str(banquet_entry["summary"])
        [ceremony_entry] = calendar_events(files[f"{ceremony.event.slug}.ics"])
        assert ceremony_entry.decoded("dtstart") == CEREMONY_STARTS
        # No venue of its own: the function's.
        assert str(ceremony_entry["location"]) == "Sydney Masonic Centre"
        assert str(ceremony_entry["uid"]) != str(banquet_entry["uid"])
        assert OutboxMessage.objects.get().status == OutboxMessage.Status.SENT

    def test_a_paid_registration_reads_as_a_receipt(self, smtp_server, banquet) -> None:
        registration = factories.confirm(
            banquet, 2, email="sec@example.com", payment_status=Registration.PaymentStatus.PAID
        )
        text, html = bodies_of(delivered(smtp_server, 1)["sec@example.com"])
        assert "This message is your receipt" in text
        assert "This message is your receipt" in html
        assert registration.confirmation_number in text

    def test_rendering_reads_the_same_number_of_queries_for_2_or_22_seats(
        self, banquet, ceremony, django_assert_num_queries
    ) -> None:
        small = factories.confirm(banquet, 2, buyer="small")
        large = confirm_lodge(banquet, ceremony)
        messages = {
            m.context["registration"]: m for m in OutboxMessage.objects.filter(kind="confirmation")
        }
        with django_assert_num_queries(3):
            render_confirmation(messages[str(small.pk)])
        started = time.perf_counter()
        with django_assert_num_queries(3):
            rendered = render_confirmation(messages[str(large.pk)])
        elapsed = time.perf_counter() - started
        assert len(rendered.attachments) == 4
        print(f"\nrendered a 22-seat lodge confirmation in {elapsed * 1000:.0f} ms")


class TestWhoGetsWhichTicket:
    """A partner's or guest's tickets go to the contact unless they gave their own email;
    the same rule holds for a Mason (services.issued_tickets)."""

    def test_a_mason_with_a_lady_partner_and_a_guest_with_her_own_email(
        self, smtp_server, banquet
    ) -> None:
        registration = confirm_individual(
            banquet,
            [
                factories.attendee("Alan", banquet, email="alan@example.com"),
                factories.attendee(
                    "Mary",
                    banquet,
                    attendee_type=Attendee.Type.LADY_PARTNER,
                    partner_of=0,
                    email="",
                    lodge_name="",
                ),
                factories.attendee(
                    "Grace",
                    banquet,
                    attendee_type=Attendee.Type.GUEST,
                    email="Grace@Example.com",
                    lodge_name="",
                ),
            ],
        )
        codes = {
            t.attendee.first_name: t.code
            for t in Ticket.objects.filter(hold__registration=registration).select_related(
                "attendee"
            )
        }

        messages = delivered(smtp_server, 2)

        contact = messages["alan@example.com"]
        files = attachments_of(contact)
        number = registration.confirmation_number
        assert f"tax-invoice-{number}.pdf" in files
        # The Mason's own ticket and his partner's, who gave no email; not the guest's.
        assert sorted(c for [c] in qr_codes_per_page(files[f"tickets-{number}.pdf"])) == sorted(
            [codes["Alan"], codes["Mary"]]
        )
        text, html = bodies_of(contact)
        assert "at the door" in text
        for body in (text, html):
            assert "Tickets of Grace Reid went to their own email addresses." in body

        guest = messages["Grace@Example.com"]
        assert "your tickets" in guest["Subject"]
        files = attachments_of(guest)
        assert set(files) == {f"tickets-{number}.pdf", f"{banquet.event.slug}.ics"}
        assert qr_codes_per_page(files[f"tickets-{number}.pdf"]) == [[codes["Grace"]]]
        text, html = bodies_of(guest)
        assert "Grace Reid" in text
        assert "Grace Reid" in html
        # The guest is not the buyer: no manage link, no invoice.
        assert access.manage_url(registration) not in text

    def test_a_second_mason_with_his_own_email_gets_his_own_tickets(
        self, smtp_server, banquet
    ) -> None:
        registration = confirm_individual(
            banquet,
            [
                factories.attendee("Alan", banquet, email="alan@example.com"),
                factories.attendee("Bruce", banquet, email="bruce@example.com"),
                factories.attendee("Colin", banquet, email=""),
            ],
        )
        codes = {
            t.attendee.first_name: t.code
            for t in Ticket.objects.filter(hold__registration=registration).select_related(
                "attendee"
            )
        }
        messages = delivered(smtp_server, 2)
        number = registration.confirmation_number
        contact_files = attachments_of(messages["alan@example.com"])
        assert sorted(c for [c] in qr_codes_per_page(contact_files[f"tickets-{number}.pdf"])) == (
            sorted([codes["Alan"], codes["Colin"]])
        )
        bruce_files = attachments_of(messages["bruce@example.com"])
        assert qr_codes_per_page(bruce_files[f"tickets-{number}.pdf"]) == [[codes["Bruce"]]]

    def test_an_attendee_sharing_the_contacts_address_gets_no_second_message(
        self, smtp_server, banquet
    ) -> None:
        confirm_individual(
            banquet,
            [
                factories.attendee("Alan", banquet, email="alan@example.com"),
                factories.attendee("Ann", banquet, email="ALAN@example.com"),
            ],
        )
        messages = delivered(smtp_server, 1)
        assert set(messages) == {"alan@example.com"}
