"""The widget's WebSocket and the agents' chat console through the real ASGI application (Channels'
communicator, in-memory layer): authentication by visitor token, origin checks, a whole conversation with
typing both ways, agent replies pushed by the ticket observer, read receipts, and malformed frames."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from config.asgi import application
from cx.accounts.models import Role
from cx.accounts.services import user_create, user_set_status
from cx.chat.models import ChatConversation, ConversationStatus
from cx.chat.services import chat_accept, chat_inbox_create
from cx.tickets.models import Channel, DeliveryStatus, Message, Ticket
from cx.tickets.services import ticket_reply, ticket_statuses_ensure_defaults

SITE = "https://shop.example.com"
TIMEOUT = 5


def _setup(allowed_origins=None):
    ticket_statuses_ensure_defaults()  # a transactional test's flush may have removed the built-in statuses
    admin = user_create(actor=None, username="boss", email="boss@agents.example.test", password=None, role=Role.ADMIN)
    inbox = chat_inbox_create(actor=admin, values={"name": "Web", "allowed_origins": allowed_origins or []}).inbox
    agent = user_create(actor=None, username="sam", email="sam@agents.example.test", password=None,
                        role=Role.AGENT, first_name="Sam")
    user_set_status(actor=agent, status="online")
    client = Client()
    token = client.post(f"/chat/widget/{inbox.widget_key}/session", data=json.dumps({"page_url": f"{SITE}/pricing"}),
                        content_type="application/json", headers={"Origin": SITE}).json()["visitor_token"]
    agent_client = Client()
    agent_client.force_login(agent)
    cookie = f"{settings.SESSION_COOKIE_NAME}={agent_client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return inbox, agent, token, cookie


def _visitor(inbox, token, origin=SITE):
    return WebsocketCommunicator(application, f"/ws/chat/visitor/{inbox.widget_key}/?token={token}",
                                 headers=[(b"origin", origin.encode())])


def _agent_socket(path, cookie):
    return WebsocketCommunicator(application, path, headers=[(b"origin", b"http://testserver"),
                                                             (b"cookie", cookie.encode())])


async def _until(communicator, kind, timeout=TIMEOUT):
    """The next frame of ``kind`` (others are skipped)."""
    async def _wait():
        while True:
            frame = await communicator.receive_json_from(timeout=timeout)
            if frame.get("type") == kind:
                return frame
    return await asyncio.wait_for(_wait(), timeout)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_whole_chat_over_the_widget_socket():
    inbox, agent, token, cookie = await database_sync_to_async(_setup)()
    console = _agent_socket("/ws/chat/agents/", cookie)
    assert (await console.connect())[0]
    visitor = _visitor(inbox, token)
    connected, _ = await visitor.connect()
    assert connected
    hello = await _until(visitor, "hello")
    assert hello["conversation"] is None

    await visitor.send_json_to({"type": "start", "fields": {"name": "Lin", "email": "lin@example.com"},
                                "body": "Is the Pro plan monthly?", "client_id": "c1"})
    status = await _until(visitor, "status")
    assert status["conversation"]["status"] == "waiting"
    assert status["conversation"]["messages"][0]["body"] == "Is the Pro plan monthly?"
    waiting = await _until(console, "chat.waiting")
    assert waiting["payload"]["name"] == "Lin" and waiting["payload"]["page"] == f"{SITE}/pricing"
    conversation = await database_sync_to_async(ChatConversation.objects.select_related("ticket").get)()
    assert conversation.ticket.channel == Channel.CHAT

    await database_sync_to_async(chat_accept)(actor=agent, conversation=conversation)
    accepted = await _until(visitor, "status")
    assert accepted["conversation"] == {"id": conversation.pk, "status": "active", "agent_name": "Sam"}

    ticket_page = _agent_socket(f"/ws/tickets/{conversation.ticket_id}/", cookie)
    assert (await ticket_page.connect())[0]
    await visitor.send_json_to({"type": "typing"})
    typing = await _until(ticket_page, "ticket.typing")
    assert typing["payload"]["name"] == "Lin (visitor)"
    await ticket_page.send_json_to({"type": "typing"})
    assert (await _until(visitor, "typing"))["name"] == "Sam"

    await visitor.send_json_to({"type": "message", "body": "And yearly?", "client_id": "c2"})
    ack = await _until(visitor, "ack")
    assert ack["client_id"] == "c2"
    assert (await _until(ticket_page, "ticket.changed"))["payload"]["change"] == "customer_replied"

    ticket = await database_sync_to_async(Ticket.objects.get)(pk=conversation.ticket_id)
    reply = await database_sync_to_async(ticket_reply)(actor=agent, ticket=ticket, body="Both, yearly is cheaper.")
    pushed = await _until(visitor, "message")
    while pushed["message"]["author"] != "agent":
        pushed = await _until(visitor, "message")
    assert pushed["message"] == {**pushed["message"], "id": reply.pk, "author": "agent", "author_name": "Sam",
                                 "body": "Both, yearly is cheaper."}
    assert (await database_sync_to_async(Message.objects.get)(pk=reply.pk)).delivery_status == DeliveryStatus.SENT

    await visitor.send_json_to({"type": "read", "message_id": reply.pk})
    read = await _until(console, "chat.read")
    assert read["payload"]["message_id"] == reply.pk
    assert (await database_sync_to_async(Message.objects.get)(pk=reply.pk)).delivery_status == DeliveryStatus.DELIVERED

    await visitor.send_json_to({"type": "end"})
    ended = await _until(visitor, "status")
    assert ended["conversation"]["status"] == "ended"
    conversation = await database_sync_to_async(ChatConversation.objects.get)(pk=conversation.pk)
    assert conversation.status == ConversationStatus.ENDED and conversation.ended_by == "visitor"
    await visitor.disconnect()
    await console.disconnect()
    await ticket_page.disconnect()

    # A reload: the history of the chat comes with the hello.
    again = _visitor(inbox, token)
    assert (await again.connect())[0]
    history = await _until(again, "hello")
    bodies = [m["body"] for m in history["conversation"]["messages"]]
    assert bodies == ["Is the Pro plan monthly?", "And yearly?", "Both, yearly is cheaper."]  # no internal notes
    await again.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_malformed_frames_get_error_frames_and_the_socket_stays_open():
    inbox, _agent, token, _cookie = await database_sync_to_async(_setup)()
    visitor = _visitor(inbox, token)
    assert (await visitor.connect())[0]
    await _until(visitor, "hello")
    cases = [
        ("text", "not json", "bad_frame"),
        ("text", json.dumps([1, 2]), "bad_frame"),
        ("text", json.dumps({"type": "shout"}), "bad_frame"),
        ("text", json.dumps({"type": "message", "body": "x" * 20_000}), "frame_too_large"),
        ("text", json.dumps({"type": "message", "body": "hi"}), "conflict"),  # no chat started yet
        ("text", json.dumps({"type": "start", "fields": {"name": "", "email": "nope"}, "body": "hi"}),
         "validation_error"),
        ("text", json.dumps({"type": "start", "fields": "x", "body": "hi"}), "validation_error"),
        ("text", json.dumps({"type": "read", "message_id": "7"}), "validation_error"),
        ("text", json.dumps({"type": "message", "client_id": "x" * 100}), "bad_frame"),
        ("bytes", b"\x00\x01", "bad_frame"),
    ]
    for kind, payload, code in cases:
        if kind == "bytes":
            await visitor.send_to(bytes_data=payload)
        else:
            await visitor.send_to(text_data=payload)
        error = await _until(visitor, "error")
        assert error["code"] == code, (payload, error)
        assert error["message"]
    start_error = None
    await visitor.send_to(text_data=json.dumps({"type": "start", "fields": {"name": "", "email": "nope"}, "body": ""}))
    start_error = await _until(visitor, "error")
    assert set(start_error["fields"]) >= {"name", "email"}
    await visitor.send_json_to({"type": "ping"})
    assert await _until(visitor, "pong") == {"type": "pong"}
    assert not await database_sync_to_async(ChatConversation.objects.exists)()
    await visitor.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_widget_socket_refuses_bad_tokens_unknown_inboxes_and_foreign_origins():
    inbox, _agent, token, _cookie = await database_sync_to_async(_setup)(allowed_origins=[SITE])
    for communicator, code in [
        (_visitor(inbox, "forged-token"), 4401),
        (_visitor(inbox, token[:-3] + "abc"), 4401),
        (WebsocketCommunicator(application, f"/ws/chat/visitor/nope/?token={token}",
                               headers=[(b"origin", SITE.encode())]), 4404),
        (_visitor(inbox, token, origin="https://evil.example.net"), 4403),
    ]:
        connected, close_code = await communicator.connect()
        assert (connected, close_code) == (False, code)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_agents_console_needs_a_login():
    communicator = WebsocketCommunicator(application, "/ws/chat/agents/", headers=[(b"origin", b"http://testserver")])
    connected, code = await communicator.connect()
    assert not connected and code == 4401
