"""Hooks other apps use on the messaging inbound path without messaging knowing them.

``register_inbound_reply_handler(name, fn)``: before an inbound text message that continues an existing
ticket is recorded as the customer's reply, ``fn(reply: InboundReply) -> bool`` is asked inside the webhook's
transaction. A handler that returns True has consumed the message (it is then not added to the ticket, which
stays as it is); False lets the next handler or the normal path take it. The surveys app uses it for
"reply with a number" CSAT/NPS on SMS and WhatsApp. Handlers answer the customer, if they need to, with an
automated public reply on the ticket, which the normal outbound path sends on the channel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class InboundReply:
    ticket_id: int
    customer_id: int
    channel: str  # whatsapp, sms, messenger, telegram
    body: str


_handlers: dict[str, Callable[[InboundReply], bool]] = {}


def register_inbound_reply_handler(name: str, fn: Callable[[InboundReply], bool]) -> None:
    _handlers[name] = fn


def inbound_reply_claimed(reply: InboundReply) -> bool:
    return any(fn(reply) for fn in list(_handlers.values()))
