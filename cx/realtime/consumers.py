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
