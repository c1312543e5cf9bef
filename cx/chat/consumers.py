"""WebSockets of live chat.

``ChatVisitorConsumer`` (``/ws/chat/visitor/<widget key>/?token=<visitor token>``) is the widget's socket. It
runs on customers' own websites, so it is routed outside the agents' same-origin check (config/asgi.py) and
checks the inbox's allowed origins itself; the visitor is authenticated by the signed visitor token the
session endpoint issued. Frames are JSON objects with a ``type``; a malformed frame gets an ``error`` frame
and changes nothing (the socket stays open).

It listens to ``chat.visitor.<id>`` (everything pushed to the visitor) and, while a chat is live, to the
tickets app's ``ticket.<id>`` group, where the ticket page's presence consumer announces agents typing. The
visitor's own typing goes to that group in the same ``presence.typing`` shape, so the ticket page shows it.

``ChatAgentsConsumer`` (``/ws/chat/agents/``) relays queue events to logged-in agents' chat consoles.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import DatabaseSyncToAsync
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from cx.chat import push, selectors, services
from cx.chat.identity import visitor_token_claims
from cx.chat.models import ChatVisitor
from cx.core.errors import DomainError
from cx.realtime.consumers import AgentGroupConsumer

MAX_FRAME = 16_000  # characters of one text frame (a message is at most 5,000)
TYPING_EVERY = 1.5  # seconds between typing notices forwarded to agents
VISITOR_USER_ID = 0  # how the ticket page's presence tells the visitor apart from agents
FRAME_TYPES = ("start", "message", "typing", "read", "page", "ping", "end")

CLOSE_UNKNOWN_INBOX = 4404
CLOSE_BAD_TOKEN = 4401
CLOSE_ORIGIN = 4403




def _database_thread_pool(func):
    """Channels' ``database_sync_to_async`` on the event loop's pool of threads instead of its one shared thread.

    Each socket still handles its frames one at a time, in order; what runs side by side are different
    visitors' frames. On the one thread, every message also waited there for its commit hooks' hop back to
    the event loop and for the database's write lock, and 500 chatting visitors queued behind each other
    (benchmarks/chat.py: seconds of echo latency with the web process half idle)."""
    return DatabaseSyncToAsync(func, thread_sensitive=False)


INBOX_CACHE_SECONDS = 30.0
_inbox_cache: dict[str, tuple[float, int | None, tuple[str, ...]]] = {}


@_database_thread_pool
def _inbox_facts_from_db(widget_key: str) -> tuple[int | None, tuple[str, ...]]:
    try:
        inbox = selectors.chat_inbox_by_widget_key(widget_key=widget_key)
    except DomainError:
        return None, ()
    return inbox.pk, tuple(inbox.allowed_origins)


async def _inbox_facts(widget_key: str) -> tuple[int | None, tuple[str, ...]]:
    """The inbox's id and allowed origins, kept for 30 s per process: a storm of reconnecting widgets (a
    deploy, a network blip) is answered without a query each, so handshakes never wait behind chat writes."""
    now = time.monotonic()
    cached = _inbox_cache.get(widget_key)
    if cached is not None and now - cached[0] < INBOX_CACHE_SECONDS:
        return cached[1], cached[2]
    inbox_id, origins = await _inbox_facts_from_db(widget_key)
    if len(_inbox_cache) > 1000:
        _inbox_cache.clear()
    _inbox_cache[widget_key] = (now, inbox_id, origins)
    return inbox_id, origins


@_database_thread_pool
def _visitor_hello(visitor_id: int, public_id: str, inbox_id: int
                   ) -> tuple[dict[str, Any] | None, int | None, str] | int:
    """Check the token's visitor and load, in one trip to the database thread, the chat to show, the ticket
    of a live chat and the name agents see typing; CLOSE_BAD_TOKEN when the visitor is gone."""
    visitor = (ChatVisitor.objects.select_related("inbox")
               .filter(pk=visitor_id, public_id=public_id, inbox_id=inbox_id).first())
    if visitor is None:
        return CLOSE_BAD_TOKEN
    services.chat_visitor_seen(visitor_id=visitor.pk, last_seen_at=visitor.last_seen_at)
    conversation = selectors.visitor_current_conversation(visitor=visitor)
    if conversation is None:
        return None, None, _typing_name(visitor)
    frame = selectors.conversation_frame(conversation=conversation, widget_key=visitor.inbox.widget_key)
    return frame, conversation.ticket_id if conversation.is_live else None, _typing_name(visitor)


def _typing_name(visitor: ChatVisitor | None) -> str:
    return f"{visitor.name or 'Visitor'} (visitor)" if visitor else "Visitor"


def _visitor(visitor_id: int) -> ChatVisitor:
    return ChatVisitor.objects.select_related("inbox", "customer").get(pk=visitor_id)


@_database_thread_pool
def _live_ticket_id(visitor_id: int) -> int | None:
    conversation = selectors.visitor_current_conversation(visitor=_visitor(visitor_id))
    return conversation.ticket_id if conversation is not None and conversation.is_live else None


def _visitor_ref(visitor_id: int) -> ChatVisitor:
    """The visitor by id only, for the services that need nothing else of it (a message, a read receipt):
    the hot path skips loading the visitor row, its inbox and customer for every frame."""
    return ChatVisitor(pk=visitor_id)


@_database_thread_pool
def _handle(visitor_id: int, kind: str, content: dict[str, Any]) -> dict[str, Any] | None:
    """Carry out one frame from the widget; returns the reply frame (if any)."""
    if kind == "message":
        message = services.chat_visitor_message(visitor=_visitor_ref(visitor_id), body=content.get("body"))
        return {"type": "ack", "client_id": content.get("client_id"), "message_id": message.pk}
    if kind == "read":
        services.chat_visitor_read(visitor=_visitor_ref(visitor_id), message_id=content.get("message_id"))
        return None
    visitor = _visitor(visitor_id)
    if kind == "start":
        conversation = services.chat_conversation_start(visitor=visitor, fields=content.get("fields"),
                                                        body=content.get("body"))
        return {"type": "ack", "client_id": content.get("client_id"), "conversation_id": conversation.pk}
    if kind == "page":
        services.chat_visitor_page(visitor=visitor, url=content.get("url"), title=content.get("title"))
        return None
    services.chat_visitor_end(visitor=visitor)  # "end" (pings and typing never come here)
    return None


@_database_thread_pool
def _seen(visitor_id: int) -> None:
    services.chat_visitor_seen(visitor_id=visitor_id)


@_database_thread_pool
def _visitor_name(visitor_id: int) -> str:
    return _typing_name(ChatVisitor.objects.filter(pk=visitor_id).only("name").first())


def _error(code: str, message: str, fields: dict[str, str] | None = None, client_id: Any = None) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, "fields": fields or {}, "client_id": client_id}


class ChatVisitorConsumer(AsyncJsonWebsocketConsumer):
    visitor_id: int | None = None
    ticket_id: int | None = None

    async def connect(self) -> None:
        widget_key = self.scope["url_route"]["kwargs"]["widget_key"]
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        claims = visitor_token_claims((query.get("token") or [""])[0])
        headers = dict(self.scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1") or None
        inbox_id, origins = await _inbox_facts(widget_key)
        if inbox_id is None:
            await self.close(code=CLOSE_UNKNOWN_INBOX)
            return
        if origins and origin and origin.rstrip("/").lower() not in origins:
            await self.close(code=CLOSE_ORIGIN)
            return
        if claims is None or claims[0] != inbox_id:
            await self.close(code=CLOSE_BAD_TOKEN)
            return
        _inbox, public_id, visitor_id = claims
        # Accepted at once (no query yet); the visitor row is checked and the history sent right after.
        self.visitor_id = visitor_id
        self.last_typing = 0.0
        self.seen_written = time.monotonic()  # the hello below writes it
        self.typing_name = "Visitor"
        await self.channel_layer.group_add(push.visitor_group(visitor_id), self.channel_name)
        await self.accept()
        hello = await _visitor_hello(visitor_id, public_id, inbox_id)
        if isinstance(hello, int):
            await self.close(code=CLOSE_BAD_TOKEN)
            return
        conversation, live_ticket_id, self.typing_name = hello
        await self._follow_ticket(live_ticket_id, name_known=True)
        await self.send_json({"type": "hello", "conversation": conversation})

    async def disconnect(self, code: int) -> None:
        if self.visitor_id is not None:
            await self.channel_layer.group_discard(push.visitor_group(self.visitor_id), self.channel_name)
        await self._follow_ticket(None)

    async def _follow_ticket(self, ticket_id: int | None, name_known: bool = False) -> None:
        if ticket_id == self.ticket_id:
            return
        if self.ticket_id is not None:
            await self.channel_layer.group_discard(push.ticket_group(self.ticket_id), self.channel_name)
        self.ticket_id = ticket_id
        if ticket_id is not None:
            if not name_known:
                self.typing_name = await _visitor_name(self.visitor_id)  # the pre-chat form may have named them
            await self.channel_layer.group_add(push.ticket_group(ticket_id), self.channel_name)

    # --- from the widget ---------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if text_data is None:
            await self.send_json(_error("bad_frame", "Frames are JSON text.",
                                        {"frame": "binary frames are not accepted"}))
            return
        if len(text_data) > MAX_FRAME:
            await self.send_json(_error("frame_too_large", "The frame is too large.",
                                        {"frame": f"at most {MAX_FRAME} characters"}))
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.send_json(_error("bad_frame", "The frame is not valid JSON.", {"frame": "not JSON"}))
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind not in FRAME_TYPES:
            await self.send_json(_error("bad_frame", "Unknown frame type.",
                                        {"type": f"one of {', '.join(FRAME_TYPES)}"}))
            return
        client_id = content.get("client_id")
        if client_id is not None and (not isinstance(client_id, str | int) or len(str(client_id)) > 64):
            await self.send_json(_error("bad_frame", "client_id is a short string.",
                                        {"client_id": "at most 64 characters"}))
            return
        if kind == "typing":
            await self._typing()
            return
        if kind == "ping":
            # "Last seen" has a 30 s resolution: a socket writes it at most that often, without a query for
            # the pings in between (the widget pings every 25 s; reconnects and messages count as seen too).
            now = time.monotonic()
            if now - self.seen_written >= services.SEEN_RESOLUTION_SECONDS:
                self.seen_written = now
                await _seen(self.visitor_id)
            await self.send_json({"type": "pong"})
            return
        try:
            reply = await _handle(self.visitor_id, kind, content)
        except DomainError as error:
            await self.send_json(_error(error.code, error.message, error.fields, client_id))
            return
        if kind in ("start", "end"):
            await self._follow_ticket(await _live_ticket_id(self.visitor_id))
        if reply is not None:
            await self.send_json(reply)

    async def _typing(self) -> None:
        now = time.monotonic()
        if self.ticket_id is None or now - self.last_typing < TYPING_EVERY:
            return
        self.last_typing = now
        await self.channel_layer.group_send(push.ticket_group(self.ticket_id), {
            "type": "presence.typing", "channel": self.channel_name, "user_id": VISITOR_USER_ID,
            "name": self.typing_name})

    # --- from the groups ---------------------------------------------------------------------------------

    async def chat_frame(self, message: dict[str, Any]) -> None:
        frame = message["frame"]
        if frame.get("type") == "status":
            live = frame["conversation"]["status"] != "ended"
            await self._follow_ticket(await _live_ticket_id(self.visitor_id) if live else None)
        await self.send_json(frame)

    async def presence_typing(self, message: dict[str, Any]) -> None:
        if message.get("user_id") != VISITOR_USER_ID:
            await self.send_json({"type": "typing", "name": message.get("name", "")})

    # The ticket page's presence chatter and its ticket.changed events are not for the visitor.
    async def presence_hello(self, message: dict[str, Any]) -> None:
        return

    async def presence_here(self, message: dict[str, Any]) -> None:
        return

    async def presence_alive(self, message: dict[str, Any]) -> None:
        return

    async def presence_bye(self, message: dict[str, Any]) -> None:
        return

    async def cx_event(self, message: dict[str, Any]) -> None:
        return


class ChatAgentsConsumer(AgentGroupConsumer):
    """Agents' chat consoles: a chat is waiting, was accepted, transferred or ended (they re-fetch the queue)."""

    def group_for(self, user) -> str:
        return push.AGENTS_GROUP
