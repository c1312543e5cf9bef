"""The connector form: one Django form per provider, built from the adapter's settings and secrets.

Secret inputs are password fields that never render a value: leaving one blank keeps the stored secret.
"""

from __future__ import annotations

from typing import Any

from django import forms

from cx.messaging.adapters import adapter_for


def templates_to_text(templates: list[dict]) -> str:
    return "\n".join(f"{t['name']} {t['language']}" for t in templates)


def templates_from_text(text: str) -> list[dict[str, str]]:
    templates = []
    for line in (text or "").splitlines():
        parts = line.split()
        if parts:
            templates.append({"name": parts[0], "language": parts[1] if len(parts) > 1 else "en_US"})
    return templates


class ConnectorForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100, help_text="Shown to agents, e.g. “WhatsApp support line”.")
    team = forms.ChoiceField(label="Route new conversations to team", required=False)
    is_active = forms.BooleanField(label="Active (accepts webhooks and sends replies)", required=False, initial=True)
    api_base_url = forms.CharField(label="API base URL (advanced)", required=False, max_length=300,
                                   help_text="Leave empty for the provider's API; set for a test or proxy server.")

    def __init__(self, *args: Any, provider: str, teams: list, secrets_set: dict[str, bool] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.provider = provider
        adapter = adapter_for(provider)
        self.fields["team"].choices = [("", "— no team —")] + [(str(t.pk), t.name) for t in teams]
        for key, label in adapter.setting_fields.items():
            self.fields[f"setting_{key}"] = forms.CharField(label=label, max_length=200,
                                                           required=key not in ("business_account_id", "bot_username"))
        for key, label in adapter.secret_fields.items():
            is_set = bool((secrets_set or {}).get(key))
            self.fields[f"secret_{key}"] = forms.CharField(
                label=label, required=False, max_length=1000,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                help_text="Stored — leave empty to keep it." if is_set else "Required.")
        if provider == "whatsapp":
            self.fields["templates"] = forms.CharField(
                label="Approved message templates", required=False, widget=forms.Textarea(attrs={"rows": 3}),
                help_text="One per line: template name and language, e.g. “order_update en_US”. Only these can be "
                          "sent outside the 24-hour customer service window.")

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        values: dict[str, Any] = {
            "name": data["name"], "team_id": data.get("team") or None, "is_active": data.get("is_active", False),
            "api_base_url": data.get("api_base_url", ""),
            "settings": {k.removeprefix("setting_"): v for k, v in data.items() if k.startswith("setting_")},
            "secrets": {k.removeprefix("secret_"): v for k, v in data.items() if k.startswith("secret_") and v},
        }
        if "templates" in self.fields:
            values["templates"] = templates_from_text(data.get("templates", ""))
        return values

    def field_name_for(self, service_field: str) -> str | None:
        name = service_field.replace("settings.", "setting_").replace("secrets.", "secret_")
        name = {"team_id": "team"}.get(name, name)
        return name if name in self.fields else None
