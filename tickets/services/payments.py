"""Payment providers behind one small interface.

Offline methods (invoice, pay at the door) confirm the registration at once with payment
pending; staff mark it paid in the admin. A card provider plugs in by implementing
`PaymentProvider.begin` - typically returning a redirect to its hosted page and confirming
from its callback.

The rule that matters (docs/design.md §3): payment never runs inside a transaction that
holds a row lock. `checkout` calls the provider first, with no transaction open, and only
then confirms, which takes its locks for a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tickets.models import Function, Registration
from tickets.services.exceptions import PaymentMethodRequired
from tickets.services.registrations import confirm_registration, current_holds, total_of


@dataclass(frozen=True)
class PaymentOutcome:
    """What a provider decided: confirm now with this payment status, or send the buyer
    to `redirect_url` and confirm later from the provider's callback."""

    payment_status: str = Registration.PaymentStatus.PENDING
    redirect_url: str | None = None


class PaymentProvider(Protocol):
    identifier: str
    label: str
    instructions: str

    def begin(self, registration: Registration) -> PaymentOutcome: ...


@dataclass(frozen=True)
class OfflinePayment:
    """Pay later by a means staff reconcile by hand."""

    identifier: str
    label: str
    instructions: str

    def begin(self, registration: Registration) -> PaymentOutcome:
        return PaymentOutcome(payment_status=Registration.PaymentStatus.PENDING)


PROVIDERS: dict[str, PaymentProvider] = {
    provider.identifier: provider
    for provider in (
        OfflinePayment(
            identifier="invoice",
            label="Invoice (bank transfer)",
            # What services.confirmation_mail sends: the tax invoice and the number to quote.
            instructions=(
                "We email a tax invoice with your confirmation; please pay by bank transfer "
                "within {days}."
            ),
        ),
        OfflinePayment(
            identifier="door",
            label="Pay at the door",
            instructions="Pay by card or cash when you arrive.",
        ),
    )
}


def offers(function: Function) -> list[tuple[PaymentProvider, str]]:
    """Each provider with its wording for this function ("{days}": Function.unpaid_days)."""
    days = f"{function.unpaid_days} day{'' if function.unpaid_days == 1 else 's'}"
    return [(p, p.instructions.format(days=days)) for p in PROVIDERS.values()]


# What a registration with nothing to pay is recorded as having used.
NO_PAYMENT_METHOD = "none"


def checkout(registration: Registration, method: str) -> tuple[Registration, str | None]:
    """Settle payment, then confirm. Returns the registration and any redirect URL.

    Call it outside any transaction: a provider may take seconds, and no seat lock may be
    held meanwhile.
    """
    if total_of(current_holds(registration)) == 0:
        confirmed = confirm_registration(
            registration.pk,
            payment_method=NO_PAYMENT_METHOD,
            payment_status=Registration.PaymentStatus.NOT_REQUIRED,
        )
        return confirmed, None
    provider = PROVIDERS.get(method)
    if provider is None:
        raise PaymentMethodRequired()
    outcome = provider.begin(registration)
    if outcome.redirect_url:
        return registration, outcome.redirect_url
    confirmed = confirm_registration(
        registration.pk, payment_method=provider.identifier, payment_status=outcome.payment_status
    )
    return confirmed, None
