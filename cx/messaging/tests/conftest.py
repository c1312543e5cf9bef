"""Fixtures for the messaging tests: one connector per provider pointed at a local fake provider server,
helpers to post signed webhooks, and the fixture payloads copied from ../shared/data/webhooks."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from cx.accounts.models import Role
from cx.messaging.adapters import meta
from cx.messaging.models import Connector
from cx.messaging.services import connector_create, webhook_url
from cx.messaging.tests.fake_provider import start_fake_provider

ADAPTERS_DIR = Path(__file__).resolve().parent.parent / "adapters"
APP_SECRET = "meta-app-secret-for-tests"
TELEGRAM_SECRET = "telegram-webhook-secret-for-tests"
TWILIO_TOKEN = "twilio-auth-token-for-tests"
SETTINGS = {
    "whatsapp": {"phone_number_id": "1122334455667"},
    "messenger": {"page_id": ""},
    "telegram": {"bot_username": "cxdesk_bot"},
    "twilio_sms": {"account_sid": "4444", "from_number": "+15005550006"},
}
SECRETS = {
    "whatsapp": {"app_secret": APP_SECRET, "access_token": "wa-access-token", "verify_token": "wa-verify"},
    "messenger": {"app_secret": APP_SECRET, "page_access_token": "page-token", "verify_token": "fb-verify"},
    "telegram": {"bot_token": "123456:bot-token", "webhook_secret": TELEGRAM_SECRET},
    "twilio_sms": {"auth_token": TWILIO_TOKEN},
}


def fixture_files(provider: str) -> list[Path]:
    folder = ADAPTERS_DIR / provider / "fixtures"
    return sorted(p for p in folder.iterdir()
                  if p.suffix in (".json", ".txt") and p.name != "signature_test_vectors.json")


@pytest.fixture
def fake_provider():
    fake, server = start_fake_provider()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_connector(db, admin_user, fake_provider):
    def _make(provider: str, **overrides) -> Connector:
        settings = dict(SETTINGS[provider])
        if provider == "messenger":
            settings.pop("page_id")
            settings["page_id"] = overrides.pop("page_id", "0")
        return connector_create(actor=admin_user, provider=provider, name=overrides.pop("name", f"{provider} line"),
                                settings=settings, secrets=dict(SECRETS[provider]),
                                api_base_url=fake_provider.url, **overrides)

    return _make


def post_webhook(connector: Connector, body: bytes | dict | str, *, signature: str | None = None,
                 client: Client | None = None):
    """POST like the provider: signed with the connector's secret unless ``signature`` is given."""
    client = client or Client()
    url = webhook_url(connector).removeprefix("http://127.0.0.1:8000")
    provider = connector.provider
    if provider == "twilio_sms":
        form = body if isinstance(body, dict) else None
        raw = urlencode(form, doseq=True) if form is not None else body
        if signature is None:
            from django.http import QueryDict

            signature = RequestValidator(TWILIO_TOKEN).compute_signature(webhook_url(connector), QueryDict(raw))
        return client.post(url, data=raw, content_type="application/x-www-form-urlencoded",
                           headers={"X-Twilio-Signature": signature})
    raw = json.dumps(body).encode() if isinstance(body, dict) else (body.encode() if isinstance(body, str) else body)
    if provider == "telegram":
        return client.post(url, data=raw, content_type="application/json",
                           headers={"X-Telegram-Bot-Api-Secret-Token": signature or TELEGRAM_SECRET})
    return client.post(url, data=raw, content_type="application/json",
                       headers={"X-Hub-Signature-256": signature or meta.sign(APP_SECRET, raw)})


@pytest.fixture
def agent(make_user):
    return make_user(Role.AGENT, "sam")
