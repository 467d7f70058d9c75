"""Lodges and grand lodges as reference data (docs/design.md §15).

A lodge is picked from the list by search; the forms still carry its name and number as
text (that is what a browser without script sends, and what a lodge "not listed" is).
`match_lodge` turns typed text into the listed lodge it names, so "Lodge Harmony No. 5",
"harmony" + "5" and "HARMONY LODGE" + "No 5" all land on the same row; text that names
no listed lodge (or more than one) stays unmatched, for staff to match later
(`match_unlisted`, an action of the Lodge admin). Names compare as
`tickets.models.normalised_lodge_name` has them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q

from tickets.models import Attendee, Lodge, Registration, normalised_lodge_name
from tickets.services import audit
from tickets.services.exceptions import InvalidLodgeMerge

SEARCH_RESULTS = 10
# A number written into the name: "Harmony No. 5", "Harmony No5", "Harmony #5".
_NUMBER_IN_NAME = re.compile(r"\s*(?:,\s*)?(?:no\.?|#)\s*(\w+)\s*$", re.IGNORECASE)
_NUMBER_PREFIX = re.compile(r"^\s*(?:no\.?|#)\s*", re.IGNORECASE)


def normalised_number(number: str) -> str:
    return _NUMBER_PREFIX.sub("", number).strip().upper()


def split_typed(name: str, number: str) -> tuple[str, str]:
    """(normalised name, normalised number) of a typed lodge, a number written into the
    name ("Harmony No. 5") counting when the number field was left empty."""
    number = normalised_number(number)
    found = _NUMBER_IN_NAME.search(name)
    if found:
        if not number:
            number = found.group(1).upper()
        name = name[: found.start()]
    return normalised_lodge_name(name), number


def match_lodge(name: str, number: str) -> Lodge | None:
    """The one listed lodge the typed text names, or None (not listed, or ambiguous)."""
    search_name, search_number = split_typed(name, number)
    if not search_name:
        return None
    candidates = Lodge.objects.filter(search_name=search_name)
    if search_number:
        candidates = candidates.filter(number__iexact=search_number)
    found = list(candidates.select_related("grand_lodge")[:2])
    return found[0] if len(found) == 1 else None


def search(query: str, limit: int = SEARCH_RESULTS) -> list[Lodge]:
    """Listed lodges whose name contains the query, or whose number it is ("5",
    "No. 5"); names starting with it first."""
    name, number = split_typed(query[:120], "")
    if name and number:  # "harmony no 5"
        matches = Q(search_name__contains=name, number__iexact=number)
    elif number:  # "No. 5"
        matches = Q(number__iexact=number)
    elif name:  # "harm", or "5": a name or a bare number
        matches = Q(search_name__contains=name)
        if name.isdigit():
            matches |= Q(number__iexact=name)
    else:
        return []
    found = list(
        Lodge.objects.filter(matches)
        .select_related("grand_lodge")
        .order_by("search_name", "number")[: limit * 5]
    )
    # Names that start with what was typed first (a stable sort keeps the name order).
    found.sort(key=lambda lodge: not lodge.search_name.startswith(name))
    return found[:limit]


# --- staff: merge duplicates, match "not listed" entries ------------------------------------


@dataclass(frozen=True)
class MergeResult:
    kept: Lodge
    removed: int
    registrations: int
    attendees: int


def merge(kept: Lodge, duplicates: Iterable[Lodge], *, merged_by: AbstractBaseUser) -> MergeResult:
    """Move every registration and attendee of `duplicates` to `kept`, then delete the
    duplicates; one audit entry on the kept lodge. All or nothing."""
    duplicate_ids = sorted({lodge.pk for lodge in duplicates} - {kept.pk})
    if not duplicate_ids:
        raise InvalidLodgeMerge("Choose at least two lodges: the one to keep and its duplicates.")
    with transaction.atomic():
        # Lock the lodges in primary-key order, so two merges of overlapping sets queue.
        locked = list(
            Lodge.objects.select_for_update()
            .filter(pk__in=[kept.pk, *duplicate_ids])
            .order_by("pk")
        )
        if len(locked) != len(duplicate_ids) + 1:
            raise InvalidLodgeMerge("One of those lodges was removed meanwhile; nothing merged.")
        removed = [lodge for lodge in locked if lodge.pk != kept.pk]
        registrations = Registration.objects.filter(lodge_id__in=duplicate_ids).update(lodge=kept)
        attendees = Attendee.objects.filter(lodge_id__in=duplicate_ids).update(lodge=kept)
        audit.record(
            merged_by,
            audit.Action.MERGE_LODGES,
            kept,
            removed=[{"id": lodge.pk, "name": str(lodge)} for lodge in removed],
            registrations=registrations,
            attendees=attendees,
        )
        Lodge.objects.filter(pk__in=duplicate_ids).delete()
    return MergeResult(kept, len(removed), registrations, attendees)


def _unmatched_naming(model: type[Attendee] | type[Registration], lodge: Lodge) -> list[int]:
    """Ids of rows with no lodge linked whose typed lodge is this one."""
    candidates = model.objects.filter(lodge__isnull=True).exclude(lodge_name="")
    candidates = candidates.filter(
        Q(lodge_number__icontains=lodge.number) | Q(lodge_name__icontains=lodge.number)
    )
    wanted = (lodge.search_name, lodge.number.upper())
    return [
        pk
        for pk, name, number in candidates.values_list("pk", "lodge_name", "lodge_number")
        if split_typed(name, number) == wanted
    ]


def match_unlisted(lodges: Sequence[Lodge], *, matched_by: AbstractBaseUser) -> int:
    """Link to each lodge the registrations and attendees that typed it but were saved
    unmatched (typed before the lodge was listed, or with a spelling staff since added).
    Returns how many rows were linked; one audit entry per lodge that linked any."""
    linked = 0
    with transaction.atomic():
        for lodge in lodges:
            registration_ids = _unmatched_naming(Registration, lodge)
            attendee_ids = _unmatched_naming(Attendee, lodge)
            if not (registration_ids or attendee_ids):
                continue
            Registration.objects.filter(pk__in=registration_ids).update(lodge=lodge)
            Attendee.objects.filter(pk__in=attendee_ids).update(lodge=lodge)
            audit.record(
                matched_by,
                audit.Action.MATCH_LODGE,
                lodge,
                registrations=len(registration_ids),
                attendees=len(attendee_ids),
            )
            linked += len(registration_ids) + len(attendee_ids)
    return linked
