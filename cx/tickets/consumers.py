"""Collision detection on a ticket page: who else has the ticket open and who is typing a reply.

Lives in the tickets app (not realtime, which depends only on core) because joining needs the tickets
permission check. Presence is kept without shared storage, through the channel layer alone, so it works the
same with one server process (in-memory layer) or many (Redis):

- a page that connects announces itself to the group ``ticket.<id>`` (``presence.hello``), and every page
  already there answers it directly (``presence.here``), so each connection knows the others;
- a page that leaves says ``presence.bye``; pages ping every ~25 s, and a viewer not heard from for
  ``STALE_AFTER`` seconds (its server died without a goodbye) is dropped;
- ``typing`` from the composer is forwarded to the others at most once per ``TYPING_EVERY`` seconds.

``ticket.changed`` events published by cx/tickets/events.py to the same group are passed through, so the
page refreshes its conversation and properties.
"""

from __future__ import annotations

import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from cx.core.errors import DomainError
from cx.realtime.schemas import RealtimeEvent
from cx.tickets.selectors import ticket_get_for

TYPING_EVERY = 1.5
STALE_AFTER = 70.0


@database_sync_to_async
def _may_view(user: Any, ticket_id: int) -> bool:
    try:
        ticket_get_for(actor=user, ticket_id=ticket_id)
    except DomainError:
        return False
    return True


class TicketPresenceConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=4401)
            return
        self.ticket_id = int(self.scope["url_route"]["kwargs"]["ticket_id"])
        if not await _may_view(user, self.ticket_id):
            await self.close(code=4404)
            return
        self.user_id = int(user.pk)
        self.name = user.display_name
        self.can_type = user.can_write
        self.group = f"ticket.{self.ticket_id}"
        self.viewers: dict[str, dict[str, Any]] = {}  # channel name -> {"user_id", "name", "seen"}
        self.last_typing = 0.0
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.channel_layer.group_send(self.group, self._about_me("presence.hello"))
        await self._send_presence()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_send(self.group, {"type": "presence.bye", "channel": self.channel_name})
            await self.channel_layer.group_discard(self.group, self.channel_name)

    def _about_me(self, kind: str) -> dict[str, Any]:
        return {"type": kind, "channel": self.channel_name, "user_id": self.user_id, "name": self.name}

    # --- from the browser --------------------------------------------------------------------------------

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "typing" and self.can_type:
            now = time.monotonic()
            if now - self.last_typing >= TYPING_EVERY:
                self.last_typing = now
                await self.channel_layer.group_send(self.group, self._about_me("presence.typing"))
        elif kind == "ping":
            await self.channel_layer.group_send(self.group, self._about_me("presence.alive"))
            await self._prune()

    # --- from the group ----------------------------------------------------------------------------------

    async def presence_hello(self, message: dict[str, Any]) -> None:
        if message["channel"] == self.channel_name:
            return
        self._remember(message)
        await self.channel_layer.send(message["channel"], self._about_me("presence.here"))
        await self._send_presence()

    async def presence_here(self, message: dict[str, Any]) -> None:
        self._remember(message)
        await self._send_presence()

    async def presence_alive(self, message: dict[str, Any]) -> None:
        if message["channel"] == self.channel_name:
            return
        known = message["channel"] in self.viewers
        self._remember(message)
        if not known:
            await self._send_presence()

    async def presence_bye(self, message: dict[str, Any]) -> None:
        if self.viewers.pop(message["channel"], None) is not None:
            await self._send_presence()

    async def presence_typing(self, message: dict[str, Any]) -> None:
        if message["channel"] == self.channel_name or message["user_id"] == self.user_id:
            return
        self._remember(message)
        event = RealtimeEvent(type="ticket.typing", payload={"ticket_id": self.ticket_id,
                                                             "user_id": message["user_id"], "name": message["name"]})
        await self.send_json(event.model_dump(mode="json"))

    async def cx_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])

    # --- state -------------------------------------------------------------------------------------------

    def _remember(self, message: dict[str, Any]) -> None:
        self.viewers[message["channel"]] = {"user_id": message["user_id"], "name": message["name"],
                                            "seen": time.monotonic()}

    async def _prune(self) -> None:
        cutoff = time.monotonic() - STALE_AFTER
        stale = [channel for channel, viewer in self.viewers.items() if viewer["seen"] < cutoff]
        for channel in stale:
            del self.viewers[channel]
        if stale:
            await self._send_presence()

    async def _send_presence(self) -> None:
        """The other agents on this ticket (each once, however many tabs they have open)."""
        others: dict[int, str] = {}
        for viewer in self.viewers.values():
            if viewer["user_id"] != self.user_id:
                others[viewer["user_id"]] = viewer["name"]
        viewers = [{"user_id": uid, "name": name} for uid, name in sorted(others.items(), key=lambda i: i[1].lower())]
        event = RealtimeEvent(type="ticket.presence", payload={"ticket_id": self.ticket_id, "viewers": viewers})
        await self.send_json(event.model_dump(mode="json"))
