"""What the chat pushes over the channel layer, always after the transaction that caused it commits.

Groups:
- ``chat.visitor.<visitor id>``: every widget tab of one visitor (messages, typing, read receipts, status);
- ``chat.agents``: agents' chat consoles (a chat is waiting, was accepted, ended, a visitor came online);
- the tickets app's ``ticket.<id>`` group, which the visitor's socket also joins while its chat is live, so
  an agent typing on the ticket page is shown in the widget (see consumers.py).
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

logger = logging.getLogger("cx.chat")

AGENTS_GROUP = "chat.agents"


def visitor_group(visitor_id: int) -> str:
    return f"chat.visitor.{int(visitor_id)}"


def ticket_group(ticket_id: int) -> str:
    return f"ticket.{int(ticket_id)}"


def send_now(*, group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    if isinstance(layer, InMemoryChannelLayer) and not layer.groups.get(group):
        return  # nobody listens in this process
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # A live push is a convenience: the widget reloads its history on reconnect.
        logger.exception("could not push %s to %s", message.get("type"), group)


def to_visitor_on_commit(*, visitor_id: int, frame: dict[str, Any]) -> None:
    """Send ``frame`` (already in the widget's wire format) to every tab of the visitor."""
    message = {"type": "chat.frame", "frame": frame}
    transaction.on_commit(lambda: send_now(group=visitor_group(visitor_id), message=message))


def to_agents_on_commit(*, event: dict[str, Any]) -> None:
    """Tell agents' chat consoles something changed (they re-fetch the queue over HTTP)."""
    message = {"type": "cx.event", "event": event}
    transaction.on_commit(lambda: send_now(group=AGENTS_GROUP, message=message))
