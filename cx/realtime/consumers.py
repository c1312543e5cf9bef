"""WebSocket consumers. Each joins one channel-layer group for a logged-in agent and forwards the events
published to it (see cx.realtime.publish); pages re-fetch what changed over HTTP, where permissions apply."""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class AgentGroupConsumer(AsyncJsonWebsocketConsumer):
    """Accept logged-in, active users only (close code 4401 otherwise) and relay the group's events."""

    group: str | None = None

    def group_for(self, user) -> str:
        raise TypeError(f"{type(self).__name__} must define group_for()")

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=4401)
            return
        self.group = self.group_for(user)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def cx_event(self, message: dict) -> None:
        await self.send_json(message["event"])


class CustomerTimelineConsumer(AgentGroupConsumer):
    """New touchpoints of one customer, for the open customer page."""

    def group_for(self, user) -> str:
        return f"customer.{int(self.scope['url_route']['kwargs']['customer_id'])}.timeline"


class UserNotificationsConsumer(AgentGroupConsumer):
    """The logged-in agent's own notifications (group ``user.<id>``); nobody can listen to someone else's."""

    def group_for(self, user) -> str:
        return f"user.{int(user.pk)}"


class TicketQueuesConsumer(AgentGroupConsumer):
    """Open inbox pages (group ``tickets.queues``): each ``ticket.changed`` makes them re-fetch their rows,
    which are permission-checked over HTTP, so the event itself carries only ids and categories."""

    def group_for(self, user) -> str:
        return "tickets.queues"
