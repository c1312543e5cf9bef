"""Messaging and phone in a real browser against the real server: an admin configures a WhatsApp connector
(pointed at a local fake Graph API) and an IVR menu in the UI; a signed WhatsApp webhook becomes a ticket
in the inbox; the agent's reply reaches the fake provider and shows as sent; a Twilio call gets the menu."""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect
from twilio.request_validator import RequestValidator

from cx.accounts.models import Role
from cx.accounts.services import user_create
from cx.messaging.adapters import meta
from cx.messaging.tests.fake_provider import start_fake_provider

PASSWORD = "correct-horse-42"
FIXTURE = Path(__file__).resolve().parents[2] / "cx/messaging/adapters/whatsapp/fixtures/message__text.json"


@pytest.fixture
def fake_provider():
    fake, server = start_fake_provider()
    yield fake
    server.shutdown()
    server.server_close()


def _admin() -> str:
    username = f"admin-{uuid.uuid4().hex[:6]}"
    user_create(actor=None, username=username, email=f"{username}@agents.example.test", password=PASSWORD,
                role=Role.ADMIN, first_name="Ada")
    return username


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=15) as response:
        return response.status, response.read()


def test_whatsapp_message_becomes_a_ticket_and_the_reply_is_delivered(page: Page, server_url, e2e_db, login,
                                                                      fake_provider):
    login(page, _admin())
    page.goto(f"{server_url}/messaging/connectors/")
    page.get_by_role("link", name="Add WhatsApp Cloud API").click()
    page.get_by_label("Name").fill("WhatsApp support")
    page.get_by_label("Phone number id").fill("1122334455667")
    page.get_by_label("App secret (signs webhooks)").fill("e2e-app-secret")
    page.get_by_label("Access token (sends replies)").fill("e2e-access-token")
    page.get_by_label("Verify token (webhook setup handshake)").fill("e2e-verify")
    page.get_by_label("API base URL (advanced)").fill(fake_provider.url)
    page.get_by_role("button", name="Save connector").click()
    webhook_url = page.locator("#webhook-url").inner_text().strip()
    assert webhook_url.startswith(f"{server_url}/messaging/hooks/")
    expect(page.locator("body")).not_to_contain_text("e2e-app-secret")

    # Meta's handshake, then a customer's message, signed like Meta does.
    with urllib.request.urlopen(f"{webhook_url}?hub.mode=subscribe&hub.verify_token=e2e-verify&hub.challenge=42",
                                timeout=15) as response:
        assert response.read() == b"42"
    payload = json.loads(FIXTURE.read_text())
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["timestamp"] = str(int(time.time()))
    message["text"]["body"] = "My blender arrived broken"
    body = json.dumps(payload).encode()
    status, _ = _post(webhook_url, body, {"Content-Type": "application/json",
                                          "X-Hub-Signature-256": meta.sign("e2e-app-secret", body)})
    assert status == 200

    # The agent finds it in the inbox and answers.
    page.goto(f"{server_url}/tickets/")
    page.get_by_role("link", name=re.compile(r"^Unassigned")).click()
    page.get_by_role("link", name="WhatsApp from Test Name: My blender arrived broken").click()
    expect(page.locator("#conversation")).to_contain_text("My blender arrived broken")
    expect(page.locator("#messaging-panel")).to_contain_text("24-hour window open")
    page.get_by_label("Message", exact=True).fill("Sorry! A replacement is on its way.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#conversation")).to_contain_text("A replacement is on its way.")
    expect(page.locator('#conversation [data-delivery="sent"]')).to_have_count(1, timeout=10_000)
    [request] = fake_provider.requests
    assert request.path == "/v21.0/1122334455667/messages"
    assert request.headers["Authorization"] == "Bearer e2e-access-token"
    assert request.json()["to"] == "972987654321"
    assert request.json()["text"]["body"] == "Sorry! A replacement is on its way."
    expect(page.locator('#messaging-panel [data-delivery="sent"]')).to_have_count(1, timeout=20_000)


def test_ivr_menu_configured_in_the_ui_answers_a_call(page: Page, server_url, e2e_db, login):
    login(page, _admin())
    page.goto(f"{server_url}/voice/menus/")
    page.get_by_role("link", name="New IVR menu").click()
    page.get_by_label("Name").fill("Main line")
    page.get_by_label("Twilio phone number").fill("+18005550100")
    page.get_by_label("Twilio account SID").fill("AC123")
    page.get_by_label("Twilio auth token").fill("e2e-twilio-token")
    page.get_by_label("Greeting").fill("Welcome to Acme.")
    page.get_by_label("Option 1: Key").select_option("1")
    page.get_by_label("Option 1: Says").fill("billing")
    page.get_by_label("Option 1: Then").select_option("forward")
    page.get_by_label("Option 1: Team's number").fill("+15550002222")
    page.get_by_label("Option 2: Key").select_option("2")
    page.get_by_label("Option 2: Says").fill("a message")
    page.get_by_label("Option 2: Then").select_option("voicemail")
    page.get_by_role("button", name="Save IVR menu").click()
    incoming = page.locator("#voice-incoming-url").inner_text().strip()

    params = {"CallSid": "CAe2e", "From": "+14155550123", "To": "+18005550100", "AccountSid": "AC123"}
    signature = RequestValidator("e2e-twilio-token").compute_signature(incoming, params)
    status, body = _post(incoming, urlencode(params).encode(), {
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
    assert status == 200
    said = [s.text for s in ET.fromstring(body).iter("Say")]  # noqa: S314 - our own server's TwiML
    assert said == ["Welcome to Acme.", "For billing, press 1.", "For a message, press 2."]
