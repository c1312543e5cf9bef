"""Hooks other apps use to react to chat events without the chat knowing them.

``register_chat_end_observer(name, fn)``: ``fn(ended: ChatEnded)`` runs inside the transaction that ends a
chat (by the visitor or by an agent). It may return a widget frame (a dict with a ``type``) that is pushed to
the visitor's widget after commit, or ``None``. The surveys app uses it to offer inline CSAT at chat end (a
``survey`` frame, see docs/chat.md). An observer that raises is logged and skipped: ending a chat never fails
because of an observer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("cx.chat")


@dataclass(frozen=True)
class ChatEnded:
    conversation_id: int
    ticket_id: int
    customer_id: int
    visitor_id: int
    by: str  # "visitor" or "agent"


ChatEndObserver = Callable[[ChatEnded], "dict[str, Any] | None"]
_end_observers: dict[str, ChatEndObserver] = {}


def register_chat_end_observer(name: str, fn: ChatEndObserver) -> None:
    _end_observers[name] = fn


def chat_end_frames(ended: ChatEnded) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    from django.db import transaction

    for name, fn in list(_end_observers.items()):
        try:
            with transaction.atomic():
                frame = fn(ended)
        except Exception:
            logger.exception("chat end observer %s failed", name)
            continue
        if isinstance(frame, dict) and frame.get("type"):
            frames.append(frame)
    return frames
