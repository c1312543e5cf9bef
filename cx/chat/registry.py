"""Quick-reply buttons under a widget message, provided by apps above chat (the answer bot's "Yes" / "No").

A provider gets a public ticket message and returns the button labels to show under it (or ``[]``); pressing
a button sends its label as the visitor's next message, so whoever registered it reads the answer as an
ordinary visitor message (through the ticket observers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

QuickReplyProvider = Callable[[Any], list[str]]
_providers: dict[str, QuickReplyProvider] = {}


def register_quick_replies(name: str, provider: QuickReplyProvider) -> None:
    _providers[name] = provider


def quick_replies_for(message: Any) -> list[str]:
    labels: list[str] = []
    for provider in list(_providers.values()):
        for label in provider(message):
            if label not in labels:
                labels.append(label)
    return labels[:4]
