"""Forms validate shape; the services validate the domain rules."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from django import forms
from django.db.models import Model
from django.forms import formset_factory
from django.urls import reverse

from tickets.models import Attendee, DietaryNeed, Event, Hold, Registration, Ticket
from tickets.services import eligibility, names
from tickets.services.dietary import dietary_errors
from tickets.services.names import SeatDetails
from tickets.services.payments import PROVIDERS
from tickets.services.registrations import (
    DIETARY_NEEDS,
    MASON_WITHOUT_LODGE,
    AttendeeDetails,
    AttendeeDraft,
    ContactDetails,
    lodge_missing,
)


class HoldForm(forms.Form):
    """One line: `ticket_type` + `quantity` (the single-line hold of the contract)."""

    ticket_type = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    # No upper bound here: the service checks the ticket type's own per-order limit and
    # says it (a made-up bound of the form would be the limit people were told instead).
    quantity = forms.IntegerField(min_value=1)
    registration_type = forms.ChoiceField(choices=Registration.Type.choices, required=False)

    def clean_registration_type(self) -> str:
        return self.cleaned_data["registration_type"] or Registration.Type.INDIVIDUAL


class PackageHoldForm(forms.Form):
    """A package: `package` + `quantity` (how many packages; the service checks its limit)."""

    package = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    quantity = forms.IntegerField(min_value=1, max_value=2**15 - 1)
    registration_type = forms.ChoiceField(choices=Registration.Type.choices, required=False)

    def clean_registration_type(self) -> str:
        return self.cleaned_data["registration_type"] or Registration.Type.INDIVIDUAL


QUANTITY_PREFIX = "quantity_"


def quantity_field_name(ticket_type_id: int) -> str:
    """The selection form's field for how many of one ticket type are wanted."""
    return f"{QUANTITY_PREFIX}{ticket_type_id}"


class SelectionForm(forms.Form):
    """Several lines at once: a `quantity_<ticket_type_id>` field per line wanted (blank or
    0 for a line not wanted). Its fields are the ones posted; `names` labels them."""

    registration_type = forms.ChoiceField(choices=Registration.Type.choices, required=False)

    def __init__(self, data, *, names: dict[int, str]) -> None:
        super().__init__(data)
        self.bad_names: list[str] = []
        for key in data:
            if not key.startswith(QUANTITY_PREFIX):
                continue
            suffix = key.removeprefix(QUANTITY_PREFIX)
            if not suffix.isdigit() or int(suffix) >= 2**31:
                self.bad_names.append(key)
                continue
            self.fields[key] = forms.IntegerField(
                min_value=0, required=False, label=names.get(int(suffix), f"Ticket {suffix}")
            )

    def clean_registration_type(self) -> str:
        return self.cleaned_data["registration_type"] or Registration.Type.INDIVIDUAL

    def clean(self) -> dict:
        data = super().clean()
        if self.bad_names:
            raise forms.ValidationError("Those are not ticket types we sell.")
        if not self.errors and not self.lines():
            raise forms.ValidationError("Choose how many tickets you want of at least one type.")
        return data

    def lines(self) -> tuple[tuple[int, int], ...]:
        """(ticket type id, quantity) of every line wanted, in ticket type order."""
        return tuple(
            sorted(
                (int(name.removeprefix(QUANTITY_PREFIX)), value)
                for name, value in self.cleaned_data.items()
                if name.startswith(QUANTITY_PREFIX) and value
            )
        )


def model_fields_form(model: type[Model], fields: Sequence[str], **options) -> type[forms.Form]:
    """A plain Form (the wizard services save, not the form) whose fields are the model's
    own form fields, so their lengths and choices cannot drift from the columns they fill."""
    declared = forms.fields_for_model(model, fields=fields, **options)
    return type(f"{model.__name__}FieldsForm", (forms.Form,), declared)


class ContactForm(
    model_fields_form(
        Registration,
        fields=(
            "lodge_name",
            "lodge_number",
            "delegation_name",
            "contact_name",
            "contact_email",
            "contact_phone",
        ),
    )
):
    """Who we talk to about a lodge or delegation registration."""

    def __init__(self, *args, registration_type: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("contact_name", "contact_email", "contact_phone"):
            self.fields[name].required = True
        if registration_type == Registration.Type.LODGE:
            self.fields["lodge_name"].required = True
            self.fields["lodge_number"].required = True
            del self.fields["delegation_name"]
        else:
            self.fields["delegation_name"].required = True
            del self.fields["lodge_name"]
            del self.fields["lodge_number"]

        # What a browser may fill in for the buyer, and the keyboard a phone shows.
        set_autocomplete(self, CONTACT_AUTOCOMPLETE)
        lodge_combobox(self)

    def details(self) -> ContactDetails:
        return ContactDetails(**self.cleaned_data)


# Field -> (autocomplete token, input type or None to keep the widget's).
CONTACT_AUTOCOMPLETE = {
    "lodge_name": ("organization", None),
    "lodge_number": ("off", None),
    "delegation_name": ("organization", None),
    "contact_name": ("name", None),
    "contact_email": ("email", "email"),
    "contact_phone": ("tel", "tel"),
}
ATTENDEE_AUTOCOMPLETE = {
    "attendee_type": ("off", None),
    "title": ("honorific-prefix", None),
    "first_name": ("given-name", None),
    "last_name": ("family-name", None),
    "email": ("email", "email"),
    "phone": ("tel", "tel"),
    "dietary_needs": ("off", None),
    "dietary_requirements": ("off", None),
    "special_needs": ("off", None),
    "lodge_name": ("organization", None),
    "lodge_number": ("off", None),
    "partner_of": ("off", None),
}


# Structured dietary needs (services.dietary), on the attendee step and the names pages.
DIETARY_LABELS = {
    "dietary_needs": "Dietary needs",
    "dietary_requirements": "Other dietary need",
    "special_needs": "Special needs (access, seating)",
}
DIETARY_HELP = {"dietary_requirements": "Only with “Other” ticked."}
DIETARY_FIELD_ORDER = ("dietary_needs", "dietary_requirements", "special_needs")


def dietary_needs_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=DietaryNeed.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label=DIETARY_LABELS["dietary_needs"],
    )


def add_dietary_errors(form: forms.Form, data: Mapping) -> None:
    """The service's dietary rule said beside the fields (the service checks it again)."""
    problems = dietary_errors(
        data.get("dietary_needs") or (), data.get("dietary_requirements") or ""
    )
    for name, message in problems.items():
        if name not in form.errors:
            form.add_error(name, message)


def set_autocomplete(
    form: forms.Form, tokens: Mapping[str, tuple[str, str | None]], section: str = ""
) -> None:
    """Put `autocomplete` (and `type`) on the form's widgets. `section` keeps a browser's
    autofill from writing the buyer's own name into every attendee."""
    for name, (token, input_type) in tokens.items():
        if name not in form.fields:
            continue
        widget = form.fields[name].widget
        widget.attrs["autocomplete"] = (
            f"section-{section} {token}" if section and token != "off" else token
        )
        if input_type is not None:
            widget.input_type = input_type


def lodge_combobox(form: forms.Form, name: str = "lodge_name") -> None:
    """Make the lodge name field a combobox over the lodge search (lodge_search.js): it
    suggests listed lodges as one types, and picking one fills the name and number. The
    text stays a text field, so without script (or for a lodge not listed) it is typed,
    and the service matches it to the list (services.lodges.match_lodge)."""
    if name not in form.fields:
        return
    field = form.fields[name]
    # Not "<field id>-…": ids under the field's own prefix are the form's fields.
    listbox = f"lodges-{form.auto_id % form.add_prefix(name)}"
    field.lodge_listbox = listbox  # the form field template renders the listbox
    field.help_text = "Start typing and choose it from the list, or type it if it is not listed."
    field.widget.attrs.update(
        {
            "role": "combobox",
            "aria-autocomplete": "list",
            "aria-expanded": "false",
            "aria-controls": listbox,
            "data-lodge-combobox": "true",
            "hx-get": reverse("tickets:lodge-search"),
            "hx-trigger": "input changed delay:250ms",
            "hx-target": f"#{listbox}",
            "hx-swap": "innerHTML",
            "hx-vals": json.dumps({"listbox": listbox}),
            "hx-sync": "this:replace",
        }
    )


class AttendeeForm(
    model_fields_form(
        Attendee,
        fields=AttendeeDetails.SAVED_FIELDS,
        labels={"attendee_type": "Attending as", **DIETARY_LABELS},
        help_texts={"title": "e.g. W.Bro., Mrs", **DIETARY_HELP},
    )
):
    partner_of = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Partner of"
    )
    dietary_needs = dietary_needs_field()

    # The dietary checkboxes go with their "other" text; the rest keep the model's order.
    field_order = [
        *(f for f in AttendeeDetails.SAVED_FIELDS if f not in DIETARY_FIELD_ORDER),
        "partner_of",
        *DIETARY_FIELD_ORDER,
    ]

    def __init__(
        self,
        *args,
        events: Sequence[tuple[Event, Sequence[Hold]]],
        is_lead: bool,
        position: int,
        rules: Mapping[int, eligibility.Rules] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.position = position
        self.is_lead = is_lead
        if is_lead:
            self.fields["email"].required = True
            self.fields["phone"].required = True
        self.fields["partner_of"].choices = [("", "-")] + [
            (str(i), f"Attendee {i + 1}") for i in range(position)
        ]
        set_autocomplete(self, ATTENDEE_AUTOCOMPLETE, section="" if is_lead else f"a{position}")
        lodge_combobox(self)
        # The lodge fields are shown only for Masons (wizard.js) and kept only for them.
        for name in ("lodge_name", "lodge_number"):
            self.fields[name].widget.attrs["data-mason-only"] = "true"
        self.ticket_field_names: list[str] = []
        if rules is None:
            rules = ticket_rules_of(events)
        for event, holds in events:
            name = ticket_field_name(event.pk)
            self.fields[name] = forms.TypedChoiceField(
                label=event.name,
                coerce=int,
                empty_value=None,
                required=False,
                choices=[("", "Not attending")]
                + [(str(h.ticket_type_id), h.ticket_type.name) for h in holds],
                widget=TicketChoice(rules=rules),
                help_text=eligibility_note([rules[h.ticket_type_id] for h in holds]),
            )
            self.fields[name].widget.attrs["autocomplete"] = "off"
            self.ticket_field_names.append(name)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("attendee_type") and data["attendee_type"] != Attendee.Type.MASON:
            # Hidden for partners and guests; whatever was typed there before is ignored.
            data["lodge_name"] = data["lodge_number"] = ""
            for name in ("lodge_name", "lodge_number"):
                self.errors.pop(name, None)
        # Said beside the field; the rule is the service's (save_attendee_details checks it).
        if lodge_missing(data.get("attendee_type"), data.get("lodge_name")):
            self.add_error("lodge_name", MASON_WITHOUT_LODGE)
        add_dietary_errors(self, data)
        return data

    def ticket_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.ticket_field_names]

    def details(self) -> AttendeeDetails:
        data = self.cleaned_data
        return AttendeeDetails(
            **{name: data[name] for name in AttendeeDetails.SAVED_FIELDS},
            dietary_needs=tuple(data.get("dietary_needs") or ()),
            partner_of=data["partner_of"],
            ticket_type_ids=tuple(
                data[name] for name in self.ticket_field_names if data.get(name) is not None
            ),
        )


class TicketChoice(forms.Select):
    """The seat an attendee takes at one event; each option says who its ticket type is
    for (`data-attendee-types`), so the page offers each attendee only what they may take
    (wizard.js). The service checks it again (services.eligibility)."""

    def __init__(self, *args, rules: Mapping[int, eligibility.Rules], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rules = rules

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        rules = self.rules.get(int(value)) if str(value).isdigit() else None
        if rules is not None and rules.attendee_types:
            option["attrs"]["data-attendee-types"] = " ".join(rules.attendee_types)
            # What the page says when it withdraws the option (the attendee type's rule).
            option["attrs"]["data-not-offered"] = eligibility.attendee_refusal(rules, "", None)
        return option


def ticket_rules_of(events: Sequence[tuple[Event, Sequence[Hold]]]) -> dict[int, eligibility.Rules]:
    """Who each held ticket type is for, by ticket type id (one query)."""
    return eligibility.rules_for(hold.ticket_type for _, holds in events for hold in holds)


def eligibility_note(rules: Sequence[eligibility.Rules]) -> str:
    """Who the limited ticket types of one event are for, said under its field."""
    return "; ".join(
        f"{r.name}: {', '.join(eligibility.describe(r))}" for r in rules if not r.open_to_anyone
    )


def ticket_field_name(event_id: int) -> str:
    """The attendee form's field for the seat an attendee holds at one event."""
    return f"ticket_{event_id}"


def attendee_draft_from_post(
    data: Mapping[str, str], events: Sequence[tuple[Event, Sequence[Hold]]], prefix: str
) -> list[dict]:
    """What was typed into the attendee formset, valid or not, in the shape the service
    keeps (registrations.save_attendee_draft): nothing here is trusted, only stored and
    offered back as the form's initial values."""
    try:
        rows = min(int(data.get(f"{prefix}-TOTAL_FORMS", 0)), 100)
    except ValueError:
        rows = 0
    typed = []
    for index in range(max(rows, 0)):
        key = f"{prefix}-{index}-"
        partner = data.get(key + "partner_of", "")
        seats: dict[str, int | None] = {}
        for event, _ in events:
            value = data.get(key + ticket_field_name(event.pk))
            if value is not None:
                seats[str(event.pk)] = int(value) if value.isdigit() else None
        typed.append(
            {
                "values": {
                    name: data[key + name][:200]
                    for name in AttendeeDetails.SAVED_FIELDS
                    if key + name in data
                }
                | _typed_dietary_needs(data, key),
                "partner_of": int(partner) if partner.isdigit() else None,
                "seats": seats,
            }
        )
    return typed


def _typed_dietary_needs(data: Mapping[str, str], key: str) -> dict[str, list[str]]:
    """The ticked dietary needs of one attendee row, as typed (at most the list's length)."""
    getlist = getattr(data, "getlist", None)
    if getlist is None:
        return {}
    ticked = getlist(key + DIETARY_NEEDS)
    # A row whose form was on the page but had nothing ticked sends none: the draft keeps
    # "none ticked" only when the row's other fields show the form was posted.
    if not ticked and key + "first_name" not in data:
        return {}
    return {DIETARY_NEEDS: [code[:40] for code in ticked[: len(DietaryNeed.values)]]}


def contact_draft_from_post(data: Mapping[str, str], prefix: str) -> dict[str, str]:
    return {
        name: data[f"{prefix}-{name}"][:200]
        for name in ContactForm.base_fields
        if f"{prefix}-{name}" in data
    }


def attendee_initial(drafts: Sequence[AttendeeDraft]) -> list[dict]:
    """Initial data of the attendee formset from the rows the service drafted."""
    return [
        {
            **draft.values,
            "partner_of": "" if draft.partner_of is None else str(draft.partner_of),
            **{ticket_field_name(e): str(tt) for e, tt in draft.seats.items()},
        }
        for draft in drafts
    ]


class BaseAttendeeFormSet(forms.BaseFormSet):
    def get_form_kwargs(self, index: int) -> dict:
        kwargs = super().get_form_kwargs(index)
        return {**kwargs, "is_lead": index == 0, "position": index}


# The number of attendee forms is fixed by the seats held (registrations.attendee_drafts).
AttendeeFormSet = formset_factory(
    AttendeeForm, formset=BaseAttendeeFormSet, extra=0, max_num=100, validate_max=True
)


class PaymentForm(forms.Form):
    method = forms.ChoiceField(
        choices=[(p.identifier, p.label) for p in PROVIDERS.values()],
        widget=forms.RadioSelect,
        label="How would you like to pay?",
    )


# --- names later (design §11) ---------------------------------------------------------------


class SeatForm(
    model_fields_form(
        Attendee,
        fields=SeatDetails.FIELDS,
        labels={"attendee_type": "Attending as", **DIETARY_LABELS},
        help_texts={"title": "e.g. W.Bro., Mrs", **DIETARY_HELP},
    )
):
    """The attendee fields of one seat on the names page. Field names carry no prefix (the
    contract posts `ticket=<id>` and the attendee fields); ids carry the seat's, so the
    page's forms never share an id."""

    ticket = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    dietary_needs = dietary_needs_field()

    field_order = [
        "attendee_type",
        "title",
        "first_name",
        "last_name",
        "email",
        "lodge_name",
        "lodge_number",
        "dietary_needs",
        "dietary_requirements",
        "special_needs",
    ]

    def __init__(self, *args, ticket_id: int | None = None, **kwargs) -> None:
        super().__init__(*args, auto_id=f"seat-{ticket_id or 'x'}-%s", **kwargs)
        for name in ("lodge_name", "lodge_number"):
            self.fields[name].widget.attrs["data-mason-only"] = "true"
        set_autocomplete(self, ATTENDEE_AUTOCOMPLETE, section=f"seat{ticket_id}")
        lodge_combobox(self)

    def clean(self) -> dict:
        data = super().clean()
        # Said beside each field; the rules are the service's (names.name_seat checks them).
        if data.get("attendee_type") and data["attendee_type"] != Attendee.Type.MASON:
            for name in ("lodge_name", "lodge_number"):
                data[name] = ""
                self.errors.pop(name, None)
        for name, message in names.seat_errors(self.details_of(data)).items():
            if name in self.fields and name not in self.errors:
                self.add_error(name, message)
        return data

    @staticmethod
    def details_of(data: Mapping) -> SeatDetails:
        return SeatDetails(
            **{name: data.get(name) or "" for name in SeatDetails.FIELDS},
            dietary_needs=tuple(data.get("dietary_needs") or ()),
        )

    def details(self) -> SeatDetails:
        return self.details_of(self.cleaned_data)

    @classmethod
    def of_seat(cls, ticket: Ticket, **kwargs) -> SeatForm:
        """The form as a seat's current state shows it (empty for an unnamed seat)."""
        initial: dict = {"ticket": ticket.pk, "version": ticket.version}
        if ticket.attendee is not None:
            initial |= {name: getattr(ticket.attendee, name) for name in SeatDetails.FIELDS}
            initial["dietary_needs"] = list(ticket.attendee.dietary_needs)
        return cls(initial=initial, ticket_id=ticket.pk, **kwargs)
