"""Live chat across processes: two real daphne servers share a real Redis channel layer. A visitor's widget
socket is on server B, the agent works on server A: the new chat reaches A's chat console, and the agent's
reply (made through A's API) reaches the visitor's socket on B. Every wait is bounded."""

from __future__ import annotations

import asyncio
import json
import urllib.request

from websockets.asyncio.client import connect

from cx.accounts.models import Role
from cx.accounts.services import api_token_create, user_create, user_set_status
from cx.chat.services import chat_inbox_create
from cx.tickets.services import ticket_statuses_ensure_defaults
from tests.test_redis_channel_layer import (  # noqa: F401 - fixtures
    EVENT_TIMEOUT,
    _run,
    _session_cookie,
    redis_url,
    servers,
)

SITE = "https://shop.example.com"


def _post_json(url: str, data: dict, headers: dict[str, str]) -> dict:
    request = urllib.request.Request(url, method="POST", data=json.dumps(data).encode(),
                                     headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=EVENT_TIMEOUT) as response:
        return json.loads(response.read())


async def _next(socket, kind: str) -> dict:
    """The next frame of ``kind``; on a timeout the frames skipped meanwhile are in the error."""
    skipped: list[dict] = []

    async def _wait() -> dict:
        while True:
            frame = json.loads(await socket.recv())
            if frame.get("type") == kind:
                return frame
            skipped.append(frame)
    try:
        return await asyncio.wait_for(_wait(), EVENT_TIMEOUT)
    except TimeoutError:
        raise AssertionError(f"no {kind} frame within {EVENT_TIMEOUT} s; got {skipped}") from None


def test_a_reply_made_on_server_a_reaches_the_visitor_on_server_b(servers):  # noqa: F811 - the imported fixture
    server_a, server_b = servers
    ticket_statuses_ensure_defaults()  # an earlier transactional test's flush removed the built-in statuses
    admin = user_create(actor=None, username="boss", email="boss@agents.example.test", password=None, role=Role.ADMIN)
    inbox = chat_inbox_create(actor=admin, values={"name": "Web"}).inbox
    cookie = _session_cookie("chat-agent")
    from cx.accounts.models import User

    agent = User.objects.get(username="chat-agent")
    user_set_status(actor=agent, status="online")
    token = api_token_create(actor=agent, name="desk", scope="write").plaintext

    async def scenario() -> tuple[dict, dict, dict]:
        session = await asyncio.to_thread(_post_json, f"{server_b.origin}/chat/widget/{inbox.widget_key}/session",
                                          {"page_url": f"{SITE}/pricing"}, {"Origin": SITE})
        assert session["availability"]["open"] is True
        visitor_url = (f"ws://127.0.0.1:{server_b.port}{session['socket_path']}?token={session['visitor_token']}")
        console_url = f"ws://127.0.0.1:{server_a.port}/ws/chat/agents/"
        async with (connect(console_url, origin=server_a.origin, additional_headers={"Cookie": cookie},
                            open_timeout=EVENT_TIMEOUT) as console,
                    connect(visitor_url, origin=SITE, open_timeout=EVENT_TIMEOUT) as visitor):
            await _next(visitor, "hello")
            await visitor.send(json.dumps({"type": "start", "fields": {"name": "Lin", "email": "lin@example.com"},
                                           "body": "Hello from B"}))
            status = await _next(visitor, "status")
            waiting = await _next(console, "chat.waiting")  # published on B, seen on A
            ticket_id = waiting["payload"]["ticket_id"]
            await asyncio.to_thread(_post_json, f"{server_a.origin}/api/v1/tickets/{ticket_id}/messages",
                                    {"body": "Hi Lin, from A", "visibility": "public"},
                                    {"Authorization": f"Bearer {token}"})
            reply = await _next(visitor, "message")
            while reply["message"]["author"] != "agent":
                reply = await _next(visitor, "message")
            return status, waiting, reply

    status, waiting, reply = _run(scenario())
    assert status["conversation"]["messages"][0]["body"] == "Hello from B"
    assert waiting["payload"]["name"] == "Lin"
    assert reply["message"]["body"] == "Hi Lin, from A" and reply["message"]["author_name"] == "chat-agent"

