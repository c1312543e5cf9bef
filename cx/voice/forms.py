"""Forms for the IVR editor (menu + one row per key) and the "log a call" form on the ticket page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from cx.voice.models import AfterHoursAction, CallDirection, OptionAction
from cx.voice.services import MANUAL_OUTCOMES

KEYS = [("", "—")] + [(k, k) for k in "123456789*0#"]


class IvrMenuForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    phone_number = forms.CharField(label="Twilio phone number", max_length=20,
                                   help_text="The number callers dial, e.g. +4930123456.")
    account_sid = forms.CharField(label="Twilio account SID", max_length=64)
    auth_token = forms.CharField(label="Twilio auth token", required=False, max_length=200,
                                 widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))
    is_active = forms.BooleanField(label="Active (answers calls)", required=False, initial=True)
    greeting = forms.CharField(label="Greeting", max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
                               initial="Thank you for calling.")
    language = forms.CharField(label="Spoken language", max_length=10, initial="en-US")
    team = forms.ChoiceField(label="Team for voicemail and callbacks", required=False)
    calendar = forms.ChoiceField(label="Business hours (SLA calendar)", required=False,
                                 help_text="Outside these hours callers hear the after-hours message. "
                                           "Empty: always open.")
    after_hours_message = forms.CharField(label="After-hours message", required=False, max_length=1000,
                                          widget=forms.Textarea(attrs={"rows": 2}))
    after_hours_action = forms.ChoiceField(label="After hours", choices=AfterHoursAction.choices)
    voicemail_prompt = forms.CharField(label="Voicemail prompt", max_length=500,
                                       initial="Please leave a message after the tone.")

    def __init__(self, *args: Any, teams: list, calendars: list, token_set: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "— no team —")] + [(str(t.pk), t.name) for t in teams]
        self.fields["calendar"].choices = [("", "— always open —")] + [(str(c.pk), c.name) for c in calendars]
        self.fields["auth_token"].help_text = "Stored — leave empty to keep it." if token_set else "Required."


class IvrOptionForm(forms.Form):
    digit = forms.ChoiceField(label="Key", choices=KEYS, required=False)
    label = forms.CharField(label="Says “For …, press <key>”", max_length=100, required=False)
    action = forms.ChoiceField(label="Then", choices=OptionAction.choices)
    team = forms.ChoiceField(label="Team", required=False)
    forward_number = forms.CharField(label="Team's number (forward)", max_length=20, required=False)

    def __init__(self, *args: Any, teams: list | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "—")] + [(str(t.pk), t.name) for t in teams or []]


IvrOptionFormSet = forms.formset_factory(IvrOptionForm, extra=3, max_num=12)


class CallLogForm(forms.Form):
    direction = forms.ChoiceField(label="Direction", choices=CallDirection.choices, initial=CallDirection.OUTBOUND)
    phone_number = forms.CharField(label="Phone number", max_length=32, required=False)
    started_at = forms.DateTimeField(label="Started", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                     input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"])
    minutes = forms.IntegerField(label="Minutes", min_value=0, max_value=1440, initial=0)
    seconds = forms.IntegerField(label="Seconds", min_value=0, max_value=59, initial=0)
    outcome = forms.ChoiceField(label="Outcome", choices=[(o.value, o.label) for o in MANUAL_OUTCOMES])
    notes = forms.CharField(label="Notes", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("started_at", timezone.localtime().strftime("%Y-%m-%dT%H:%M"))
