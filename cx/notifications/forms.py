"""The preferences form: two checkboxes (in the app, by email) for every kind of notification."""

from __future__ import annotations

from django import forms

from cx.notifications.selectors import EffectivePreference


class NotificationPreferencesForm(forms.Form):
    def __init__(self, *args, rows: list[EffectivePreference], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            self.fields[f"{row.kind}-in_app"] = forms.BooleanField(
                required=False, initial=row.in_app, label=f"Show in the app: {row.label}")
            self.fields[f"{row.kind}-email"] = forms.BooleanField(
                required=False, initial=row.email, label=f"Send by email: {row.label}")

    def table(self) -> list[tuple[EffectivePreference, forms.BoundField, forms.BoundField]]:
        return [(row, self[f"{row.kind}-in_app"], self[f"{row.kind}-email"]) for row in self.rows]

    def choices(self) -> dict[str, dict[str, bool]]:
        return {row.kind: {"in_app": self.cleaned_data[f"{row.kind}-in_app"],
                           "email": self.cleaned_data[f"{row.kind}-email"]} for row in self.rows}
