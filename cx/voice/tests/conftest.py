"""An IVR menu on a Twilio number and a helper that posts Twilio-signed webhooks to it."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.http import QueryDict
from django.test import Client
from twilio.request_validator import RequestValidator

from cx.accounts.services import team_create
from cx.voice.services import ivr_menu_create

AUTH_TOKEN = "voice-auth-token-for-tests"
BASE = "http://127.0.0.1:8000"
CALLER = "+14155550123"
NUMBER = "+18005550199"


@pytest.fixture
def teams(admin_user):
    return {"sales": team_create(actor=admin_user, name="Sales"),
            "support": team_create(actor=admin_user, name="Support")}


@pytest.fixture
def menu(admin_user, teams):
    return ivr_menu_create(actor=admin_user, values={
        "name": "Main line", "phone_number": NUMBER, "account_sid": "AC123", "auth_token": AUTH_TOKEN,
        "greeting": "Thank you for calling Acme.", "language": "en-US", "team_id": teams["support"].pk,
        "voicemail_prompt": "Please leave a message after the tone.", "after_hours_action": "voicemail",
        "after_hours_message": "We are closed.",
        "options": [
            {"digit": "1", "label": "Sales", "action": "forward", "team_id": teams["sales"].pk,
             "forward_number": "+15550001111"},
            {"digit": "2", "label": "leaving a message", "action": "voicemail"},
            {"digit": "3", "label": "a callback", "action": "callback", "team_id": teams["support"].pk},
        ]})


def twilio_post(path: str, params: dict, *, token: str = AUTH_TOKEN, signature: str | None = None):
    body = urlencode(params)
    if signature is None:
        signature = RequestValidator(token).compute_signature(BASE + path, QueryDict(body))
    return Client().post(path, data=body, content_type="application/x-www-form-urlencoded",
                         headers={"X-Twilio-Signature": signature})


def call_params(sid: str = "CA0001", **extra) -> dict:
    return {"CallSid": sid, "AccountSid": "AC123", "From": CALLER, "To": NUMBER, "Caller": CALLER,
            "CallStatus": "in-progress", "Direction": "inbound", "ApiVersion": "2010-04-01", **extra}
