"""WebSocket consumers. Agents subscribe to a customer's timeline and get new touchpoints live."""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class CustomerTimelineConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=4401)
            return
        self.group = f"customer.{int(self.scope['url_route']['kwargs']['customer_id'])}.timeline"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def cx_event(self, message: dict) -> None:
        await self.send_json(message["event"])


class UserNotificationsConsumer(AsyncJsonWebsocketConsumer):
    """The logged-in agent's own notifications (group ``user.<id>``); nobody can listen to someone else's."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=4401)
            return
        self.group = f"user.{int(user.pk)}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def cx_event(self, message: dict) -> None:
        await self.send_json(message["event"])


class TicketQueuesConsumer(AsyncJsonWebsocketConsumer):
    """Open inbox pages (group ``tickets.queues``): each ``ticket.changed`` makes them re-fetch their rows,
    which are permission-checked over HTTP, so the event itself carries only ids and categories."""

    group = "tickets.queues"

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=4401)
            return
        self.joined = True
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "joined", False):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def cx_event(self, message: dict) -> None:
        await self.send_json(message["event"])
