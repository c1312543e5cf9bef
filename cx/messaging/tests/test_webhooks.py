"""Webhook security and bad input: signatures, secrets, Meta's handshake, malformed payloads, Twilio's
signature test vectors (checked with the official twilio library)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.http import QueryDict
from django.test import Client
from twilio.request_validator import RequestValidator

from cx.messaging.adapters.base import WebhookRequest
from cx.messaging.adapters.twilio_sms.adapter import validate_twilio_signature
from cx.messaging.models import Connector, Conversation, InboundEvent
from cx.messaging.services import webhook_url
from cx.messaging.tests.conftest import ADAPTERS_DIR, fixture_files, post_webhook
from cx.tickets.models import Message, Ticket

VECTORS = json.loads((ADAPTERS_DIR / "twilio_sms" / "fixtures" / "signature_test_vectors.json").read_text())


def _path(connector) -> str:
    return webhook_url(connector).removeprefix("http://127.0.0.1:8000")


def _first(provider: str) -> Path:
    return {"whatsapp": ADAPTERS_DIR / "whatsapp/fixtures/message__text.json",
            "messenger": ADAPTERS_DIR / "messenger/fixtures/Payload.json",
            "telegram": ADAPTERS_DIR / "telegram/fixtures/02_message_text.json"}[provider]


def _nothing_stored():
    assert not Connector.objects.exclude(last_event_at=None).exists()
    assert not Ticket.objects.exists()
    assert not Message.objects.exists()
    assert not InboundEvent.objects.exists()
    assert not Conversation.objects.exists()


@pytest.mark.parametrize("provider", ["whatsapp", "messenger", "telegram"])
def test_a_wrong_signature_or_secret_is_403_and_stores_nothing(provider, make_connector):
    connector = make_connector(provider)
    wrong = "sha256=" + "0" * 64 if provider != "telegram" else "not-the-secret"
    response = post_webhook(connector, _first(provider).read_bytes(), signature=wrong)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "bad_signature"
    _nothing_stored()


@pytest.mark.parametrize("provider", ["whatsapp", "messenger", "telegram"])
def test_a_missing_signature_is_403(provider, make_connector):
    connector = make_connector(provider)
    response = Client().post(_path(connector), data=_first(provider).read_bytes(), content_type="application/json")
    assert response.status_code == 403
    _nothing_stored()


def test_a_body_changed_after_signing_is_403(make_connector):
    from cx.messaging.adapters import meta
    from cx.messaging.tests.conftest import APP_SECRET

    connector = make_connector("whatsapp")
    raw = _first("whatsapp").read_bytes()
    signature = meta.sign(APP_SECRET, raw)
    response = post_webhook(connector, raw.replace(b"Body Text", b"Evil Text"), signature=signature)
    assert response.status_code == 403
    _nothing_stored()


def test_twilio_wrong_signature_is_403(make_connector):
    connector = make_connector("twilio_sms")
    body = (ADAPTERS_DIR / "twilio_sms/fixtures/NoMediaPayload.form-urlencoded.txt").read_text().strip()
    response = post_webhook(connector, body, signature="RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert response.status_code == 403
    _nothing_stored()


def test_an_unknown_webhook_key_is_404(db):
    response = Client().post("/messaging/hooks/no-such-key/", data=b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_inactive_connector_takes_no_webhooks(make_connector):
    connector = make_connector("telegram", is_active=False)
    assert post_webhook(connector, _first("telegram").read_bytes()).status_code == 404
    _nothing_stored()


@pytest.mark.parametrize(("provider", "body", "reason"), [
    ("whatsapp", b"{not json", "not JSON"),
    ("whatsapp", b'{"object": "page", "entry": []}', "object must be"),
    ("whatsapp", b'{"object": "whatsapp_business_account", "entry": {}}', "entry must be a list"),
    ("whatsapp", json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages",
      "value": {"metadata": {"phone_number_id": "1122334455667"}, "messages": [{"id": "wamid.1",
                "from": "972987654321", "type": "text"}]}}]}]}).encode(), "timestamp is missing"),
    ("messenger", b'{"object": "page", "entry": [{"id": "0", "messaging": [{"recipient": {"id": "0"}}]}]}',
     "sender is missing"),
    ("telegram", b'{"message": {"text": "hi"}}', "update_id"),
    ("telegram", b'{"update_id": 1, "message": {"message_id": 5, "text": "hi"}}', "chat is missing"),
])
def test_a_malformed_payload_is_400_with_the_reason_and_stores_nothing(provider, body, reason, make_connector):
    connector = make_connector(provider)
    response = post_webhook(connector, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "malformed_payload"
    assert reason in error["message"] and error["fields"]["body"]
    _nothing_stored()


def test_twilio_malformed_payload_is_400(make_connector):
    connector = make_connector("twilio_sms")
    response = post_webhook(connector, {"AccountSid": "4444", "From": "+15551234567", "Body": "hi"})
    assert response.status_code == 400
    assert "MessageSid" in response.json()["error"]["message"]
    response = post_webhook(connector, {"MessageSid": "SM1", "From": "+15551234567", "NumMedia": "lots"})
    assert response.status_code == 400
    _nothing_stored()


def test_one_bad_message_in_a_batch_stores_none_of_it(make_connector):
    connector = make_connector("whatsapp")
    payload = json.loads(_first("whatsapp").read_text())
    good = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    bad = {k: v for k, v in good.items() if k != "from"} | {"id": "wamid.other"}
    payload["entry"][0]["changes"][0]["value"]["messages"] = [good, bad]
    assert post_webhook(connector, payload).status_code == 400
    _nothing_stored()


@pytest.mark.parametrize("provider", ["whatsapp", "messenger"])
def test_meta_verification_challenge(provider, make_connector):
    connector = make_connector(provider)
    token = {"whatsapp": "wa-verify", "messenger": "fb-verify"}[provider]
    ok = Client().get(_path(connector), {"hub.mode": "subscribe", "hub.verify_token": token,
                                         "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.content == b"1158201444"
    bad = Client().get(_path(connector), {"hub.mode": "subscribe", "hub.verify_token": "guess",
                                          "hub.challenge": "1158201444"})
    assert bad.status_code == 403 and b"1158201444" not in bad.content
    missing = Client().get(_path(connector), {"hub.mode": "subscribe", "hub.verify_token": token})
    assert missing.status_code == 400


@pytest.mark.parametrize("case", VECTORS["cases"], ids=[c["name"] for c in VECTORS["cases"]])
def test_twilio_signature_vectors(case):
    """Twilio's own test values pass through our check (which calls twilio's RequestValidator)."""
    if "body" in case:
        request = WebhookRequest(url=case["url"], headers={"X-Twilio-Signature": case["expected_signature"]},
                                 body=case["body"].encode())
    else:
        form = QueryDict(mutable=True)
        for name, value in case.get("params_multi") or case["params"].items():
            form.appendlist(name, value)
        request = WebhookRequest(url=case["url"], headers={"X-Twilio-Signature": case["expected_signature"]},
                                 body=b"", form=form)
    assert validate_twilio_signature(auth_token=VECTORS["auth_token"], request=request) is case["valid"]
    assert validate_twilio_signature(auth_token="wrong-token", request=request) is False


def test_twilio_signature_covers_our_public_url(make_connector, settings):
    """Twilio signs the URL it called: our check rebuilds it from CXDESK_BASE_URL, not the Host header."""
    connector = make_connector("twilio_sms")
    body = (ADAPTERS_DIR / "twilio_sms/fixtures/NoMediaPayload.form-urlencoded.txt").read_text().strip()
    signed_for_other_host = RequestValidator("twilio-auth-token-for-tests").compute_signature(
        "https://attacker.example" + _path(connector), QueryDict(body))
    assert post_webhook(connector, body, signature=signed_for_other_host).status_code == 403
    assert post_webhook(connector, body).status_code == 200


def test_fixture_lists_are_not_empty():
    assert len(fixture_files("whatsapp")) == 41
    assert len(fixture_files("telegram")) == 13
