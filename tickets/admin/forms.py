"""Forms of the staff admin. They collect input and say early what a service would
refuse; the rules themselves are the services' (inventory, staff_edits)."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.db import transaction
from django.db.models import ProtectedError
from django.forms import BaseInlineFormSet

from common.errors import DomainError
from tickets.models import Attendee, Broadcast, Event, Registration, TicketType
from tickets.services import broadcasts, inventory, staff_edits

# When and how much of a ticket type may be bought: edited on its page and in the inline.
TICKET_TYPE_SALES_FIELDS = (
    "sales_start",
    "sales_end",
    "min_per_order",
    "max_per_order",
    "max_tables_per_order",
    "position",
)

ELIGIBILITY_FIELDS = (
    "eligible_attendee_types",
    "eligible_registration_types",
    "eligible_grand_lodges",
)


def refusal_beside_the_field(check: Callable[[], None]) -> None:
    """Run a service's check before anything is saved, so its refusal is said beside the
    field it concerns; the rule itself stays the service's."""
    try:
        check()
    except DomainError as refusal:
        raise forms.ValidationError(refusal.message, code=refusal.code) from None


class TicketTypeAdminForm(forms.ModelForm):
    class Meta:
        model = TicketType
        fields = ("event", "name", "description", "price", "capacity", *TICKET_TYPE_SALES_FIELDS)
        fields = (*fields, "sold_by_table")  # whether lodges buy it by the table
        # Who may take it (design §15; services.eligibility): none ticked means anyone.
        fields = (*fields, *ELIGIBILITY_FIELDS)
        widgets = {"eligible_grand_lodges": forms.CheckboxSelectMultiple}

    # Ticked boxes of the choices, stored as the JSON list of codes the model validates.
    eligible_attendee_types = forms.MultipleChoiceField(
        choices=Attendee.Type.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=TicketType._meta.get_field("eligible_attendee_types").help_text,
    )
    eligible_registration_types = forms.MultipleChoiceField(
        choices=Registration.Type.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=TicketType._meta.get_field("eligible_registration_types").help_text,
    )

    def clean_capacity(self) -> int:
        capacity = self.cleaned_data["capacity"]
        if self.instance.pk is not None:
            refusal_beside_the_field(lambda: inventory.check_capacity(self.instance.pk, capacity))
        return capacity


class EventAdminForm(forms.ModelForm):
    class Meta:
        model = Event
        fields = (
            "function",
            "slug",
            "name",
            "description",
            "venue",
            "starts_at",
            "ends_at",
            "status",
            "position",
        )

    def clean_status(self) -> str:
        status = self.cleaned_data["status"]
        was = self.instance.status if self.instance.pk else None
        refusal_beside_the_field(lambda: staff_edits.check_status_change(was, status))
        return status


class MessageForm(forms.Form):
    """The message, judged as the service will send it. No `maxlength` on the textarea:
    the browser would cut a pasted message short without a word; the counter shows the
    length and an over-long message is refused whole, with its length."""

    text = forms.CharField(
        label="Message",
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "data-limit": Broadcast.MAX_MESSAGE_LENGTH,
                "aria-describedby": "message-counter",
            }
        ),
        help_text=f"Shown as plain text, at most {Broadcast.MAX_MESSAGE_LENGTH} characters.",
    )

    def clean_text(self) -> str:
        text = self.cleaned_data["text"]
        try:
            return broadcasts.message_text(text)
        except DomainError as refusal:
            length = len(" ".join(text.split()))
            if length > Broadcast.MAX_MESSAGE_LENGTH:
                raise forms.ValidationError(
                    f"Keep the message to at most {Broadcast.MAX_MESSAGE_LENGTH} characters: "
                    f"this one has {length}. Nothing was sent.",
                    code=refusal.code,
                ) from None
            raise forms.ValidationError(refusal.message, code=refusal.code) from None


class CancellationForm(forms.Form):
    reason = forms.CharField(
        label="What attendees are told",
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 300}),
        help_text="Optional, e.g. “The venue is unavailable; refunds follow within a week.”",
    )


class FunnelFilterForm(forms.Form):
    since = forms.DateField(required=False, label="Started from", widget=forms.DateInput(
        attrs={"type": "date"}))  # fmt: skip
    until = forms.DateField(required=False, label="Started until", widget=forms.DateInput(
        attrs={"type": "date"}))  # fmt: skip

    def clean(self) -> dict:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("The start of the range is after its end.")
        return data


def save_inline_forms_one_by_one(
    formset: BaseInlineFormSet,
    save_form: Callable[[forms.ModelForm], None],
    refuse: Callable[[str], None],
) -> None:
    """Save an inline formset's changed rows through a service, one form at a time, so
    each edit is judged (and announced) on its own.

    A deleted row that others depend on (a ticket type with holds, an event with ticket
    types: PROTECT) is kept and `refuse` is told why: deleting it would strand seats."""
    formset.save(commit=False)  # attaches new rows to the parent; saves nothing
    for obj in formset.deleted_objects:
        try:
            with transaction.atomic():
                obj.delete()
        except ProtectedError:
            refuse(f"{obj} was not deleted: seats or ticket types depend on it.")
    for form in formset.forms:
        if form not in formset.deleted_forms and form.has_changed():
            save_form(form)
