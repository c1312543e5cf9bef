"""HTML forms for customers and organisations.

Forms only parse and render input; the rules (normalisation, uniqueness, permissions) live in the services,
whose errors are put back onto these forms with ``apply_service_errors``.
"""

from __future__ import annotations

import re

from django import forms

from cx.core.errors import DomainError
from cx.customers.models import IdentityKind

IDENTITY_ROWS = 3
_INDEXED_IDENTITY = re.compile(r"^identities\[(\d+)\]$")
_KIND_IDENTITY = re.compile(r"^identities\[([a-z]+)\]$")


class CustomerForm(forms.Form):
    """The customer's own fields; the organisation is chosen from the organisations the actor may read."""

    display_name = forms.CharField(label="Name", max_length=200, required=False,
                                   help_text="How agents see the customer; leave empty to use first and last name.")
    first_name = forms.CharField(label="First name", max_length=100, required=False)
    last_name = forms.CharField(label="Last name", max_length=100, required=False)
    organization = forms.TypedChoiceField(label="Organisation", required=False, coerce=int, empty_value=None)
    language = forms.CharField(label="Language", max_length=16, required=False, help_text="e.g. en, de, pt-BR")
    time_zone = forms.CharField(label="Time zone", max_length=64, required=False, help_text="e.g. Europe/Berlin")
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, organizations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].choices = [("", "— none —"), *((o.pk, o.name) for o in organizations)]

    def service_values(self) -> dict:
        """The cleaned data in the shape ``customer_create`` / ``customer_update`` take."""
        data = dict(self.cleaned_data)
        data["organization_id"] = data.pop("organization")
        return data


class IdentityForm(forms.Form):
    kind = forms.ChoiceField(label="Kind", choices=IdentityKind.choices)
    value = forms.CharField(label="Value", max_length=255)
    is_primary = forms.BooleanField(label="Primary", required=False)


class IdentityRowForm(IdentityForm):
    """One optional identity row on the create form: empty rows are ignored."""

    value = forms.CharField(label="Value", max_length=255, required=False)


IdentityRowFormSet = forms.formset_factory(IdentityRowForm, extra=IDENTITY_ROWS, max_num=IDENTITY_ROWS,
                                           validate_max=True)


def identity_rows(formset) -> list[dict]:
    """The filled-in identity rows, in the shape ``customer_create`` takes."""
    return [
        {"kind": form.cleaned_data["kind"], "value": form.cleaned_data["value"],
         "is_primary": form.cleaned_data.get("is_primary", False)}
        for form in formset.forms
        if form.cleaned_data.get("value")
    ]


class OrganizationForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    domain = forms.CharField(label="Domain", max_length=253, required=False, help_text="e.g. example.com")
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 3}))


class MergeForm(forms.Form):
    source_id = forms.IntegerField(label="Customer to merge into this one", min_value=1)


class EraseForm(forms.Form):
    confirm = forms.CharField(label="Type ERASE to confirm", max_length=10)

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != "ERASE":
            raise forms.ValidationError("Type the word ERASE in capitals to confirm.")
        return value


def apply_service_errors(form: forms.Form, error: DomainError, *, field_map: dict[str, str] | None = None) -> None:
    """Show a service error on the form: the message on top, and each known field's reason next to it."""
    field_map = field_map or {}
    form.add_error(None, error.message)
    for name, reason in error.fields.items():
        target = field_map.get(name, name)
        if target in form.fields:
            form.add_error(target, reason)
        else:
            form.add_error(None, f"{name}: {reason}")


def apply_identity_errors(formset, error: DomainError) -> bool:
    """Put identity errors from ``customer_create`` on the rows they belong to; True if any was placed."""
    filled = [form for form in formset.forms if form.cleaned_data.get("value")]
    placed = False
    for name, reason in error.fields.items():
        if match := _INDEXED_IDENTITY.match(name):
            index = int(match.group(1))
            if index < len(filled):
                filled[index].add_error("value", reason)
                placed = True
        elif match := _KIND_IDENTITY.match(name):
            for form in filled:
                if form.cleaned_data["kind"] == match.group(1):
                    form.add_error("value", reason)
                    placed = True
    return placed
