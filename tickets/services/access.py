"""Ways back in to a registration (docs/design.md §10): the signed manage link, the
ownership it grants a browser, and "find my registration".

The manage link is a salted HMAC over "<uuid>:<manage_key>". Staff reissuing the link
give the registration a new `manage_key`, which revokes every earlier link *and* every
browser that became an owner through one: a grant is kept in the session as the token
that earned it and is checked against the current key each time it is used.

"Find my registration" mails the contact address every registration it is the contact of.
It says the same whatever the address, and attendees' own addresses are not searched: a
manage link makes its holder an owner of the whole registration (everyone's details), which
is the contact's to hand out, not a guest's; guests get their own tickets by mail.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from common import ratelimit, tokens
from common.links import absolute_url
from outbox import services as outbox
from outbox.models import OutboxMessage
from outbox.renderers import RenderedMessage
from tickets.models import Registration, new_secret_key
from tickets.services import audit
from tickets.services.exceptions import TooManyFinds
from tickets.signals import RegistrationChange, registration_changed_on_commit

_MANAGE_SALT = "lodgetix.manage-link"

# The session's registrations granted by a manage link: {str(pk): token}, oldest first.
GRANTS_SESSION_KEY = "lodgetix_manage_grants"
# A browser is an owner through at most this many links at once (the oldest is dropped):
# the session stays small whatever a client opens.
MAX_GRANTS = 20

# Outbox kinds (renderers registered in tickets/apps.py).
FIND_REGISTRATIONS = "find_registrations"
MANAGE_LINK = "manage_link"

# What "find my registration" lists: everything but holds that lapsed unbought.
FINDABLE_STATUSES = (
    Registration.Status.CONFIRMED,
    Registration.Status.PENDING,
    Registration.Status.CANCELLED,
)


# --- the manage link ---------------------------------------------------------------------


def manage_token(registration: Registration) -> str:
    """Signed for this registration and its current key: reissuing the key (a new
    `manage_key`) revokes every earlier link."""
    return tokens.sign(_MANAGE_SALT, _manage_value(registration))


def manage_token_is_valid(registration: Registration, token: str) -> bool:
    return tokens.matches(_MANAGE_SALT, _manage_value(registration), token)


def _manage_value(registration: Registration) -> str:
    return f"{registration.pk}:{registration.manage_key}"


def manage_path(registration: Registration) -> str:
    return reverse(
        "tickets:registration-manage",
        kwargs={"pk": registration.pk, "token": manage_token(registration)},
    )


def manage_url(registration: Registration) -> str:
    return absolute_url(manage_path(registration))


def open_manage_link(session: SessionBase, pk: UUID, token: str) -> Registration | None:
    """The registration a manage link names, now owned by this session; None for a link
    that is bad, tampered with or revoked (and then nothing is granted)."""
    registration = Registration.objects.filter(pk=pk).first()
    if registration is None or not manage_token_is_valid(registration, token):
        return None
    grants = dict(session.get(GRANTS_SESSION_KEY, {}))
    grants.pop(str(pk), None)  # re-opened: now the newest, so the last to be dropped
    grants[str(pk)] = token
    session[GRANTS_SESSION_KEY] = dict(list(grants.items())[-MAX_GRANTS:])
    registration_changed_on_commit(registration, RegistrationChange.MANAGE_OPENED)
    return registration


def granted_token(session: SessionBase, pk: UUID) -> str | None:
    """The manage link token this session opened for registration `pk`, if any; the
    caller checks it against the registration (manage_token_is_valid)."""
    return session.get(GRANTS_SESSION_KEY, {}).get(str(pk))


# --- staff reissue -----------------------------------------------------------------------


def reissue_manage_links(
    registration_ids: Iterable[UUID], *, reissued_by: AbstractBaseUser, notify: bool = False
) -> list[Registration]:
    """A new manage link for each registration: every earlier link, and every browser that
    owns it through one, stops working. One audit entry each; with `notify`, the new link
    is mailed to the contact (when there is one). Rows are locked in primary-key order."""
    reissued = []
    with transaction.atomic():
        for registration in (
            Registration.objects.select_for_update(of=("self",))
            .select_related("function")
            .filter(pk__in=list(registration_ids))
            .order_by("pk")
        ):
            registration.manage_key = new_secret_key()
            registration.save(update_fields=["manage_key", "updated_at"])
            mailed = notify and bool(registration.contact_email)
            if mailed:
                outbox.enqueue(
                    MANAGE_LINK,
                    to=registration.contact_email,
                    subject=f"{registration.function.name}: your new registration link",
                    context={"registration": str(registration.pk)},
                    about=f"registration:{registration.pk}",
                )
            audit.record(reissued_by, audit.Action.REISSUE_MANAGE_LINK, registration, mailed=mailed)
            reissued.append(registration)
    return reissued


# --- find my registration ----------------------------------------------------------------


@dataclass(frozen=True)
class FindLimits:
    """Finds allowed per hour from one client address and for one email address (None:
    no limit)."""

    per_address: int | None
    per_email: int | None

    @classmethod
    def from_settings(cls) -> FindLimits:
        return cls(settings.FIND_PER_ADDRESS_PER_HOUR, settings.FIND_PER_EMAIL_PER_HOUR)


_HOUR = 3600


def normalised_email(email: str) -> str:
    return email.strip().lower()


def count_find_from(address: str, limits: FindLimits | None = None) -> None:
    """Count one find from a client address, valid or not; TooManyFinds past the limit."""
    limit = (limits or FindLimits.from_settings()).per_address
    _count(f"find:ip:{address}", limit)


def count_find_for(email: str, limits: FindLimits | None = None) -> None:
    """Count one find for an email address (keyed by its hash: no address in Redis);
    TooManyFinds past the limit, which also keeps one inbox from being mailed over and
    over."""
    limit = (limits or FindLimits.from_settings()).per_email
    digest = hashlib.sha256(normalised_email(email).encode()).hexdigest()[:32]
    _count(f"find:email:{digest}", limit)


def _count(key: str, limit: int | None) -> None:
    if limit is None:
        return
    result = ratelimit.hit(key, limit=limit, window=_HOUR)
    if not result.allowed:
        raise TooManyFinds(result.retry_after)


def registrations_of(email: str) -> list[Registration]:
    """Every findable registration whose contact is `email` (any case), newest first."""
    return list(
        Registration.objects.select_related("function")
        .filter(contact_email__iexact=normalised_email(email), status__in=FINDABLE_STATUSES)
        .order_by("-created_at")
    )


def send_registrations_to(email: str) -> OutboxMessage | None:
    """One message to `email` listing its registrations with their manage links; None
    (and nothing written) when it is the contact of none."""
    with transaction.atomic():
        found = registrations_of(email)
        if not found:
            return None
        return outbox.enqueue(
            FIND_REGISTRATIONS,
            # As the contact gave it (the newest registration's spelling), not as typed.
            to=found[0].contact_email,
            subject="Your LodgeTix registrations",
            context={"registrations": [str(registration.pk) for registration in found]},
            about="find_registrations",
        )


# --- rendering (at delivery, so a resend carries the links as they are now) -------------


@dataclass(frozen=True)
class ListedRegistration:
    function_name: str
    starts_at: datetime.datetime
    reference: str  # the confirmation number, or the status of one not confirmed
    status: str
    manage_url: str


def _listed(registrations: Sequence[Registration]) -> list[ListedRegistration]:
    return [
        ListedRegistration(
            function_name=registration.function.name,
            starts_at=registration.function.starts_at,
            reference=registration.confirmation_number or registration.get_status_display(),
            status=registration.status,
            manage_url=manage_url(registration),
        )
        for registration in registrations
    ]


def render_find_registrations(message: OutboxMessage) -> RenderedMessage:
    ids = message.context.get("registrations", [])
    by_id = {
        str(registration.pk): registration
        for registration in Registration.objects.select_related("function").filter(pk__in=ids)
    }
    # In the order found; registrations deleted since are left out.
    context = {"registrations": _listed([by_id[pk] for pk in ids if pk in by_id])}
    return RenderedMessage(
        text=render_to_string("tickets/access/find_mail.txt", context),
        html=render_to_string("tickets/access/find_mail.html", context),
    )


def render_manage_link(message: OutboxMessage) -> RenderedMessage:
    registration = Registration.objects.select_related("function").get(
        pk=message.context["registration"]
    )
    context = {"registrations": _listed([registration]), "reissued": True}
    return RenderedMessage(
        text=render_to_string("tickets/access/find_mail.txt", context),
        html=render_to_string("tickets/access/find_mail.html", context),
    )
