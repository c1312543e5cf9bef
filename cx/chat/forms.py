"""Forms of the chat admin pages and the transfer box; values are checked again by the services."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from cx.chat.models import MAX_AGENT_CHAT_LIMIT, ChatInbox, default_pre_chat_fields

PRE_CHAT_HELP = ('A JSON list, one object per field: {"name": "order", "label": "Order number", "type": "text", '
                 '"required": false}. Types: text, email, tel, textarea, select (with "options": [...]).')


class ChatInboxForm(forms.Form):
    name = forms.CharField(max_length=100)
    is_active = forms.BooleanField(required=False, initial=True, label="Active (the widget shows on websites)")
    greeting = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    offline_message = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                      label="Leave-a-message text")
    colour = forms.CharField(max_length=7, initial="#1f6feb", widget=forms.TextInput(attrs={"type": "color"}))
    allowed_origins = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                      help_text="One origin per line, e.g. https://www.example.com. "
                                                "Empty: any website.")
    pre_chat_fields = forms.CharField(widget=forms.Textarea(attrs={"rows": 6, "class": "mono"}),
                                      label="Pre-chat form fields", help_text=PRE_CHAT_HELP)
    calendar_id = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Business hours",
                                         help_text="Outside these hours the widget offers to leave a message.")
    team_id = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Team",
                                     help_text="New chats wait in this team's queue; its online members answer.")
    agent_chat_limit = forms.IntegerField(min_value=1, max_value=MAX_AGENT_CHAT_LIMIT, initial=3,
                                          label="Concurrent chats per agent",
                                          help_text="Routing gives an agent no more chats above this.")

    def __init__(self, data=None, *, inbox: ChatInbox | None = None, calendars=(), teams=()) -> None:
        if inbox is not None:
            initial = {
                "name": inbox.name, "is_active": inbox.is_active, "greeting": inbox.greeting,
                "offline_message": inbox.offline_message, "colour": inbox.colour,
                "allowed_origins": "\n".join(inbox.allowed_origins),
                "pre_chat_fields": json.dumps(inbox.pre_chat_fields, indent=2),
                "calendar_id": inbox.calendar_id, "team_id": inbox.team_id,
                "agent_chat_limit": inbox.agent_chat_limit}
        else:
            initial = {"pre_chat_fields": json.dumps(default_pre_chat_fields(), indent=2),
                       "greeting": "Hi! How can we help you today?",
                       "offline_message": "We're away right now. Leave a message and we'll answer by email."}
        super().__init__(data, initial=initial)
        self.fields["calendar_id"].choices = [("", "Always (no calendar)")] + [(c.pk, c.name) for c in calendars]
        self.fields["team_id"].choices = [("", "Any team")] + [(t.pk, t.name) for t in teams]

    def clean_pre_chat_fields(self) -> list:
        try:
            value = json.loads(self.cleaned_data["pre_chat_fields"])
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None
        return value

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["allowed_origins"] = [line.strip() for line in (data.get("allowed_origins") or "").splitlines()
                                   if line.strip()]
        return data


class TransferForm(forms.Form):
    agent_id = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="To an agent")
    team_id = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Or to a team")

    def __init__(self, *args: Any, agents=(), teams=(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent_id"].choices = [("", "—")] + [(a.pk, a.display_name) for a in agents if a.can_write]
        self.fields["team_id"].choices = [("", "—")] + [(t.pk, t.name) for t in teams]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (data.get("agent_id") is None) == (data.get("team_id") is None):
            raise forms.ValidationError("Choose either an agent or a team.")
        return data

    def target(self) -> tuple[int | None, int | None]:
        return self.cleaned_data.get("agent_id"), self.cleaned_data.get("team_id")
