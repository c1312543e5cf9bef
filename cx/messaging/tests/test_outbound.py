"""Agents' public replies on messaging tickets go to the provider's API (a local fake server here) after
commit: the exact request each provider expects, delivery states, retries through an outage, the WhatsApp
24-hour window and templates."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cx.messaging.models import Conversation, Outbound
from cx.messaging.services import outbound_attempt, outbound_retries_enqueue_due, whatsapp_template_send
from cx.messaging.tests.conftest import ADAPTERS_DIR, post_webhook
from cx.tickets.models import Message, Ticket
from cx.tickets.services import ticket_reply

INBOUND = {
    "whatsapp": ADAPTERS_DIR / "whatsapp/fixtures/message__text.json",
    "messenger": ADAPTERS_DIR / "messenger/fixtures/RequestResponse.json",
    "telegram": ADAPTERS_DIR / "telegram/fixtures/02_message_text.json",
}
SMS = {"MessageSid": "SMin1", "SmsSid": "SMin1", "AccountSid": "4444", "From": "+15551234567",
       "To": "+15005550006", "Body": "My parcel never arrived", "NumMedia": "0", "SmsStatus": "received"}


def _inbound(provider, make_connector, **overrides):
    connector = make_connector(provider, **overrides)
    if provider == "twilio_sms":
        body = dict(SMS)
    elif provider == "whatsapp":
        payload = json.loads(INBOUND[provider].read_text())
        # A recent message, so the 24-hour window is open.
        payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(int(timezone.now().timestamp()))
        body = payload
    else:
        body = INBOUND[provider].read_bytes()
    assert post_webhook(connector, body).status_code == 200
    return connector, Ticket.objects.get()


def _reply(agent, ticket, capture, text="We are on it."):
    with capture(execute=True):
        return ticket_reply(actor=agent, ticket=ticket, body=text)


def test_whatsapp_reply_request(make_connector, agent, fake_provider, django_capture_on_commit_callbacks):
    connector, ticket = _inbound("whatsapp", make_connector)
    message = _reply(agent, ticket, django_capture_on_commit_callbacks)
    [request] = fake_provider.requests
    assert request.path == "/v21.0/1122334455667/messages"
    assert request.headers["Authorization"] == "Bearer wa-access-token"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "972987654321",
                              "type": "text", "text": {"preview_url": False, "body": "We are on it."}}
    outbound = Outbound.objects.get(message=message)
    assert outbound.status == "sent" and outbound.provider_message_id == "wamid.OUT1"
    message.refresh_from_db()
    assert message.delivery_status == "sent"
    assert connector.pk == outbound.conversation.connector_id


def test_messenger_reply_request(make_connector, agent, fake_provider, django_capture_on_commit_callbacks):
    _connector, ticket = _inbound("messenger", make_connector, page_id="123123123")
    _reply(agent, ticket, django_capture_on_commit_callbacks)
    [request] = fake_provider.requests
    assert request.path == "/v21.0/me/messages"
    assert request.headers["Authorization"] == "Bearer page-token"
    # The fixture's message is from 2019: outside the 24-hour window a human agent answers with the tag.
    assert request.json() == {"recipient": {"id": "123123123"}, "message": {"text": "We are on it."},
                              "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}


def test_telegram_reply_request(make_connector, agent, fake_provider, django_capture_on_commit_callbacks):
    _connector, ticket = _inbound("telegram", make_connector)
    message = _reply(agent, ticket, django_capture_on_commit_callbacks)
    [request] = fake_provider.requests
    assert request.path == "/bot123456:bot-token/sendMessage"
    assert request.json() == {"chat_id": 1111111, "text": "We are on it."}
    assert Outbound.objects.get(message=message).provider_message_id == "1111111:9001"


def test_twilio_reply_request(make_connector, agent, fake_provider, django_capture_on_commit_callbacks):
    connector, ticket = _inbound("twilio_sms", make_connector)
    message = _reply(agent, ticket, django_capture_on_commit_callbacks)
    [request] = fake_provider.requests
    assert request.path == "/2010-04-01/Accounts/4444/Messages.json"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"4444:twilio-auth-token-for-tests").decode()
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = request.form()
    assert form["To"] == "+15551234567" and form["From"] == "+15005550006" and form["Body"] == "We are on it."
    assert form["StatusCallback"].endswith(f"/messaging/hooks/{connector.webhook_key}/")
    outbound = Outbound.objects.get(message=message)
    # Twilio's status callback moves the state on.
    callback = {"MessageSid": outbound.provider_message_id, "MessageStatus": "delivered", "AccountSid": "4444",
                "To": "+15551234567", "From": "+15005550006"}
    assert post_webhook(connector, callback).status_code == 200
    outbound.refresh_from_db()
    message.refresh_from_db()
    assert outbound.status == "delivered" and message.delivery_status == "delivered"


def test_internal_notes_and_other_channels_send_nothing(make_connector, agent, fake_provider,
                                                        django_capture_on_commit_callbacks):
    _connector, ticket = _inbound("telegram", make_connector)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(actor=agent, ticket=ticket, body="Note to self", visibility="internal")
    assert fake_provider.requests == []
    assert not Outbound.objects.exists()


def test_whatsapp_statuses_update_our_message_and_never_go_backwards(make_connector, agent, fake_provider,
                                                                    django_capture_on_commit_callbacks):
    connector, ticket = _inbound("whatsapp", make_connector)
    message = _reply(agent, ticket, django_capture_on_commit_callbacks)
    template = json.loads((ADAPTERS_DIR / "whatsapp/fixtures/message_status__read.json").read_text())

    def status(name):
        payload = json.loads(json.dumps(template))
        item = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
        item["id"], item["status"] = "wamid.OUT1", name
        return post_webhook(connector, payload)

    assert status("delivered").json()["statuses"] == 1
    assert Outbound.objects.get().status == "delivered"
    status("read")
    status("sent")  # late: ignored
    outbound = Outbound.objects.get()
    message.refresh_from_db()
    assert outbound.status == "read" and message.delivery_status == "delivered"


def test_whatsapp_failed_status_shows_the_error(make_connector, agent, fake_provider,
                                                django_capture_on_commit_callbacks):
    connector, ticket = _inbound("whatsapp", make_connector)
    message = _reply(agent, ticket, django_capture_on_commit_callbacks)
    payload = json.loads((ADAPTERS_DIR / "whatsapp/fixtures/message_status__failed.json").read_text())
    payload["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = "wamid.OUT1"
    post_webhook(connector, payload)
    message.refresh_from_db()
    assert message.delivery_status == "failed"
    assert "130472" in message.delivery_error


def test_an_outage_is_retried_with_back_off_and_the_reply_is_not_lost(make_connector, agent, fake_provider,
                                                                      django_capture_on_commit_callbacks):
    _connector, ticket = _inbound("telegram", make_connector)
    fake_provider.failures = [503, 502]
    message = _reply(agent, ticket, django_capture_on_commit_callbacks)
    outbound = Outbound.objects.get(message=message)
    assert outbound.status == "queued" and outbound.attempts == 1
    assert "503" in outbound.last_error
    first_due = outbound.next_attempt_at
    assert outbound_retries_enqueue_due(now=timezone.now()) == 0  # not due yet
    assert outbound_retries_enqueue_due(now=first_due + timedelta(seconds=1)) == 1  # runs the task inline
    outbound.refresh_from_db()
    assert outbound.status == "queued" and outbound.attempts == 2
    assert outbound.next_attempt_at - timezone.now() >= timedelta(seconds=55)  # doubled delay (30 s, then 60 s)
    outbound_retries_enqueue_due(now=outbound.next_attempt_at + timedelta(seconds=1))
    outbound.refresh_from_db()
    message.refresh_from_db()
    assert outbound.status == "sent" and outbound.attempts == 3 and message.delivery_status == "sent"
    assert len(fake_provider.requests) == 3
    assert {r.json()["text"] for r in fake_provider.requests} == {"We are on it."}


def test_a_provider_that_is_down_entirely_is_retried(make_connector, agent, django_capture_on_commit_callbacks):
    from tests.support import free_port

    connector, ticket = _inbound("telegram", make_connector)
    connector.api_base_url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    connector.save(update_fields=["api_base_url"])
    message = _reply(agent, ticket, django_capture_on_commit_callbacks)
    outbound = Outbound.objects.get(message=message)
    assert outbound.status == "queued" and "could not connect" in outbound.last_error
    assert "bot-token" not in outbound.last_error


def test_a_refusal_fails_at_once_and_can_be_sent_again(make_connector, agent, fake_provider, admin_user,
                                                       django_capture_on_commit_callbacks):
    _connector, ticket = _inbound("telegram", make_connector)
    fake_provider.failures = [400]
    message = _reply(agent, ticket, django_capture_on_commit_callbacks)
    outbound = Outbound.objects.get(message=message)
    assert outbound.status == "failed" and outbound.attempts == 1
    message.refresh_from_db()
    assert message.delivery_status == "failed" and "HTTP 400" in message.delivery_error
    client = Client()
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/messaging/outbound/{outbound.pk}/retry/")
    assert response.status_code == 302
    outbound.refresh_from_db()
    assert outbound.status == "sent"


def test_gives_up_after_the_last_attempt(make_connector, agent, fake_provider, django_capture_on_commit_callbacks):
    from cx.messaging.services import MAX_ATTEMPTS

    _connector, ticket = _inbound("telegram", make_connector)
    fake_provider.failures = [503] * MAX_ATTEMPTS
    message = _reply(agent, ticket, django_capture_on_commit_callbacks)
    outbound = Outbound.objects.get(message=message)
    while outbound.status == "queued":
        outbound_attempt(outbound_id=outbound.pk, now=outbound.next_attempt_at)
        outbound.refresh_from_db()
    assert outbound.status == "failed" and outbound.attempts == MAX_ATTEMPTS


def test_an_attempt_runs_once_even_if_queued_twice(make_connector, agent, fake_provider,
                                                   django_capture_on_commit_callbacks):
    _connector, ticket = _inbound("telegram", make_connector)
    message = _reply(agent, ticket, django_capture_on_commit_callbacks)
    outbound = Outbound.objects.get(message=message)
    assert outbound_attempt(outbound_id=outbound.pk) is None
    assert len(fake_provider.requests) == 1


def test_whatsapp_outside_the_24_hour_window_only_templates(make_connector, agent, fake_provider,
                                                            django_capture_on_commit_callbacks):
    _connector, ticket = _inbound("whatsapp", make_connector,
                                 templates=[{"name": "follow_up", "language": "en_US"}])
    Conversation.objects.update(last_inbound_at=timezone.now() - timedelta(hours=25))
    message = _reply(agent, ticket, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.delivery_status == "failed" and "24-hour" in message.delivery_error
    assert fake_provider.requests == []
    client = Client()
    client.force_login(agent)
    panel = client.get(f"/messaging/tickets/{ticket.pk}/panel/").content.decode()
    assert "window is closed" in panel and "follow_up" in panel
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/messaging/tickets/{ticket.pk}/template/", {"template": "follow_up"})
    assert response.status_code == 302
    [request] = fake_provider.requests
    assert request.json() == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "972987654321",
                              "type": "template", "template": {"name": "follow_up", "language": {"code": "en_US"}}}
    assert client.post(f"/messaging/tickets/{ticket.pk}/template/", {"template": "nope"}).status_code == 422
    assert Message.objects.filter(author_type="agent").count() == 2


def test_the_ticket_page_shows_the_window_and_delivery_state(make_connector, agent, fake_provider,
                                                             django_capture_on_commit_callbacks):
    _connector, ticket = _inbound("whatsapp", make_connector)
    _reply(agent, ticket, django_capture_on_commit_callbacks)
    client = Client()
    client.force_login(agent)
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f"/messaging/tickets/{ticket.pk}/panel/" in page
    assert 'data-delivery="sent"' in page
    panel = client.get(f"/messaging/tickets/{ticket.pk}/panel/").content.decode()
    assert "window open until" in panel and 'data-delivery="sent"' in panel


@pytest.mark.parametrize("channel", ["email", "web"])
def test_the_panel_is_empty_for_other_channels(channel, agent, db):
    from cx.customers.services import customer_create
    from cx.tickets.services import ticket_open_by_customer

    customer = customer_create(actor=None, display_name="Ann")
    ticket = ticket_open_by_customer(requester=customer, subject="Hi", body="Hello", channel=channel).ticket
    client = Client()
    client.force_login(agent)
    assert client.get(f"/messaging/tickets/{ticket.pk}/panel/").content == b""


def test_template_send_needs_a_whatsapp_conversation(make_connector, agent, db):
    _connector, ticket = _inbound("telegram", make_connector)
    with pytest.raises(Exception, match="no WhatsApp conversation"):
        whatsapp_template_send(actor=agent, ticket=ticket, template_name="x")


def test_telegram_button_presses_are_answered(make_connector, fake_provider, django_capture_on_commit_callbacks):
    connector = make_connector("telegram")
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(connector, (ADAPTERS_DIR / "telegram/fixtures/13_callback_query.json").read_bytes())
    [request] = fake_provider.requests
    assert request.path == "/bot123456:bot-token/answerCallbackQuery"
    assert request.json() == {"callback_query_id": "4382bfdwdsb323b2d9"}
    assert Message.objects.get().body_text == "Chose: Data from button callback"


def test_delivery_updates_reach_open_ticket_pages_live(make_connector, agent, fake_provider,
                                                       django_capture_on_commit_callbacks):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    connector, ticket = _inbound("whatsapp", make_connector)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"ticket.{ticket.pk}", channel)
    _reply(agent, ticket, django_capture_on_commit_callbacks)
    payload = json.loads((ADAPTERS_DIR / "whatsapp/fixtures/message_status__delivered.json").read_text())
    payload["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = "wamid.OUT1"
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(connector, payload)
    changes = []
    while True:
        try:
            message = async_to_sync(layer.receive)(channel) if layer.channels.get(channel) else None
        except Exception:
            message = None
        if not message:
            break
        changes.append(message["event"]["payload"]["change"])
    assert "delivery" in changes


def test_a_reply_longer_than_the_provider_allows_is_not_sent(make_connector, agent, fake_provider,
                                                             django_capture_on_commit_callbacks):
    _connector, ticket = _inbound("twilio_sms", make_connector)
    message = _reply(agent, ticket, django_capture_on_commit_callbacks, text="x" * 1601)
    message.refresh_from_db()
    assert message.delivery_status == "failed" and "at most 1600 characters" in message.delivery_error
    assert fake_provider.requests == []
