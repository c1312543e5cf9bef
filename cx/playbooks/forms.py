"""Forms of the playbook editor: plain fields plus JSON text areas for conditions and actions (as the
automation rule editor). Forms only parse; the services validate and name the failing path, which
``apply_service_errors`` puts under the right field."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from cx.core.errors import DomainError

from .models import GoalKind, Match, TriggerKind

JSON_AREA = {"rows": 10, "spellcheck": "false", "class": "json-editor"}


class JsonListField(forms.CharField):
    def __init__(self, **kwargs: Any):
        kwargs.setdefault("widget", forms.Textarea(attrs=JSON_AREA))
        super().__init__(strip=True, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return []
        try:
            parsed = json.loads(text, parse_constant=_reject_constant)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None
        if not isinstance(parsed, list):
            raise forms.ValidationError("Must be a list [ ... ].")
        return parsed


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


class PlaybookForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    trigger_kind = forms.ChoiceField(choices=TriggerKind.choices, label="Trigger")
    trigger_event = forms.CharField(required=False, max_length=200, label="Trigger event",
                                    help_text="A tracked event's name (e.g. checkout_failed); for ticket triggers a "
                                              "ticket event such as ticket.created (empty: any); for survey "
                                              "triggers nps, csat or ces (empty: any).")
    match = forms.ChoiceField(choices=Match.choices, label="Match")
    conditions = JsonListField(required=False, help_text='[{"field": ..., "op": ..., "value": ...}] — see the '
                                                         "reference below.")
    actions = JsonListField(help_text='[{"type": ..., ...}] — see the reference below.')
    cooldown_days = forms.IntegerField(min_value=0, max_value=365, label="Contact a customer at most once per (days)",
                                       help_text="0: no per-playbook limit (the global cap still applies).")
    holdout_percent = forms.IntegerField(min_value=0, max_value=50, label="Holdout group (%)",
                                         help_text="Matching customers deterministically not contacted, to measure "
                                                   "the playbook's effect.")
    goal_kind = forms.ChoiceField(choices=GoalKind.choices, label="Goal")
    goal_event = forms.CharField(required=False, max_length=200, label="Goal event",
                                 help_text="The tracked event that counts as success, e.g. Order Completed.")
    goal_window_days = forms.IntegerField(min_value=1, max_value=365, label="Goal window (days)")
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Owner",
                                   help_text="Outreach tickets with assign_to \"owner\" go to this agent.")

    def __init__(self, *args: Any, agents: list[tuple[int, str]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Nobody (the team picks it up)"), *(agents or [])]

    def service_values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["owner_id"] = data.pop("owner")
        data["description"] = data.get("description") or ""
        data["trigger_event"] = data.get("trigger_event") or ""
        data["goal_event"] = data.get("goal_event") or ""
        return data


class SettingsForm(forms.Form):
    max_contacts = forms.IntegerField(min_value=0, max_value=100, label="At most this many playbook contacts",
                                      help_text="0: no global cap.")
    window_days = forms.IntegerField(min_value=1, max_value=365, label="per customer in (days)")


_ALIASES = {"owner_id": "owner"}


def apply_service_errors(form: forms.Form, error: DomainError) -> None:
    """Each service error under its field, with the path (``conditions[0].op: one of ...``)."""
    for path, reason in error.fields.items():
        root = _ALIASES.get(path.split(".")[0].split("[")[0], path.split(".")[0].split("[")[0])
        if root in form.fields:
            form.add_error(root, f"{path}: {reason}" if path != root else reason)
        else:
            form.add_error(None, f"{path}: {reason}")
    if not error.fields:
        form.add_error(None, error.message)
