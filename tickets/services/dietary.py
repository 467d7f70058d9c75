"""Structured dietary needs (docs/design.md §11): codes of tickets.models.DietaryNeed, and
the text that goes with "other". The wizard's attendee step and the names pages check and
keep them the same way; the kitchen counts the codes."""

from __future__ import annotations

from collections.abc import Sequence

from tickets.models import DietaryNeed

UNKNOWN_NEED = "Choose dietary needs from the list."
OTHER_WITHOUT_TEXT = "Say what the other dietary need is."


def dietary_errors(needs: Sequence[str], other_text: str) -> dict[str, str]:
    """Field -> what is wrong: `dietary_needs` or `dietary_requirements` (the text)."""
    if set(needs) - set(DietaryNeed.values):
        return {"dietary_needs": UNKNOWN_NEED}
    if DietaryNeed.OTHER in needs and not other_text.strip():
        return {"dietary_requirements": OTHER_WITHOUT_TEXT}
    return {}


def clean_dietary(needs: Sequence[str], other_text: str) -> tuple[list[str], str]:
    """Needs in the list's order, once each; the text is kept only with "other"."""
    chosen = [code for code in DietaryNeed.values if code in needs]
    return chosen, other_text.strip() if DietaryNeed.OTHER in chosen else ""
