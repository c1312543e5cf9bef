"""Forms of the rule editor: plain fields plus JSON text areas for conditions and actions.

The forms only parse (JSON syntax, types); the services validate the rule and name the failing path, which
``apply_service_errors`` puts under the right text area."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from cx.core.errors import DomainError

JSON_AREA = {"rows": 12, "spellcheck": "false", "class": "json-editor"}


class JsonField(forms.CharField):
    """A text area holding JSON of one top-level type (an object or a list)."""

    def __init__(self, *, expected: type, **kwargs: Any):
        self.expected = expected
        kwargs.setdefault("widget", forms.Textarea(attrs=JSON_AREA))
        super().__init__(strip=True, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return self.expected()
        try:
            parsed = json.loads(text, parse_constant=_reject_constant)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None
        if not isinstance(parsed, self.expected):
            kind = "an object { ... }" if self.expected is dict else "a list [ ... ]"
            raise forms.ValidationError(f"Must be {kind}.")
        return parsed


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


class _RuleForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    position = forms.IntegerField(required=False, min_value=0, max_value=1_000_000,
                                  help_text="Lower runs first; leave empty to put it last.")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def service_values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["description"] = data.get("description") or ""
        return data


class TriggerForm(_RuleForm):
    conditions = JsonField(expected=dict, help_text='{"all": [...], "any": [...]}')
    actions = JsonField(expected=list, help_text='[{"type": ..., ...}]')
    fire_once_per_ticket = forms.BooleanField(required=False, label="Act at most once per ticket")


class TimeRuleForm(_RuleForm):
    conditions = JsonField(expected=dict, help_text='{"all": [...], "any": [...]} with an hours_* condition in all')
    actions = JsonField(expected=list, help_text='[{"type": ..., ...}]')


class MacroForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    actions = JsonField(expected=list, help_text='[{"type": ..., ...}]')
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    shared = forms.BooleanField(required=False, label="Shared with other agents (admins only)")
    team = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Only for team",
                                  help_text="A shared macro only this team's members see.")

    def __init__(self, *args: Any, teams: list[tuple[int, str]] | None = None, can_share: bool = False,
                 editing_shared: bool | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "Everyone"), *(teams or [])]
        if not can_share:
            del self.fields["shared"]
            del self.fields["team"]
        elif editing_shared is not None:
            del self.fields["shared"]  # sharing is chosen when a macro is made
            if not editing_shared:
                del self.fields["team"]

    def service_values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["description"] = data.get("description") or ""
        data.pop("shared", None)
        if "team" in data:
            data["team_id"] = data.pop("team")
        return data


_FIELD_ALIASES = {"team_id": "team"}


def apply_service_errors(form: forms.Form, error: DomainError) -> None:
    """Put a service's errors under the fields they are about; ``conditions.all[1].op`` goes under
    conditions, with its path, so the admin sees exactly what to fix."""
    placed = False
    for path, reason in error.fields.items():
        root = path.split(".")[0].split("[")[0]
        root = _FIELD_ALIASES.get(root, root)
        if root in form.fields:
            form.add_error(root, f"{path}: {reason}" if path != root else reason)
            placed = True
        else:
            form.add_error(None, f"{path}: {reason}")
            placed = True
    if not placed:
        form.add_error(None, error.message)
