"""Realtime events go out only after the transaction that caused them commits (never for a rollback)."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from cx.realtime.schemas import RealtimeEvent

logger = logging.getLogger("cx.realtime")


def publish_now(*, group: str, event: RealtimeEvent) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    if isinstance(layer, InMemoryChannelLayer) and not layer.groups.get(group):
        # The in-memory layer reaches only this process's consumers; with none in the group there is nothing
        # to deliver, and skipping saves a thread hop per event (bulk writes such as `cxdesk demo`).
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "cx.event", "event": event.model_dump(mode="json")})
    except Exception:
        # A realtime push is a convenience; a broken channel layer must not fail the write that caused it.
        logger.exception("could not publish %s to %s", event.type, group)


def publish_on_commit(*, group: str, event_type: str, payload: dict[str, Any]) -> None:
    event = RealtimeEvent(type=event_type, payload=payload)
    transaction.on_commit(lambda: publish_now(group=group, event=event))
