"""Reads for messaging: connectors (admins) and a ticket's messaging state (agents)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.errors import NotFound
from cx.messaging.adapters.whatsapp.adapter import CUSTOMER_SERVICE_WINDOW_HOURS
from cx.messaging.models import PROVIDER_CHANNEL, Connector, Conversation, Outbound, Provider
from cx.tickets.models import Ticket
from cx.tickets.selectors import ticket_get_for

WINDOW = timedelta(hours=CUSTOMER_SERVICE_WINDOW_HOURS)


def conversation_for_ticket(ticket: Ticket) -> Conversation | None:
    channel_providers = [p for p, c in PROVIDER_CHANNEL.items() if c == ticket.channel]
    """The conversation a ticket's replies go to: the one that opened it, else the customer's latest."""
    conversation = (Conversation.objects.select_related("connector").filter(ticket_id=ticket.pk).first()
                    or Conversation.objects.select_related("connector")
                    .filter(customer_id=ticket.requester_id, connector__provider__in=channel_providers)
                    .order_by("-last_inbound_at").first())
    return conversation


def window_closes_at(conversation: Conversation) -> datetime | None:
    return conversation.last_inbound_at + WINDOW if conversation.last_inbound_at else None


def connector_list(*, actor: User, token_scope: AccessLevel | None = None) -> QuerySet[Connector]:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    return Connector.objects.select_related("team").order_by("name")


def connector_get_for(*, actor: User, connector_id: int, token_scope: AccessLevel | None = None) -> Connector:
    connector = connector_list(actor=actor, token_scope=token_scope).filter(pk=connector_id).first()
    if connector is None:
        raise NotFound(f"No messaging connector with id {connector_id}.")
    return connector


def outbound_get_for(*, actor: User, outbound_id: int, token_scope: AccessLevel | None = None) -> Outbound:
    outbound = Outbound.objects.select_related("message").filter(pk=outbound_id).first()
    if outbound is None:
        raise NotFound(f"No outbound message with id {outbound_id}.")
    ticket_get_for(actor=actor, ticket_id=outbound.message.ticket_id, token_scope=token_scope)  # access check
    return outbound


@dataclass(frozen=True)
class TicketMessaging:
    conversation: Conversation | None
    outbound: list[Outbound]
    window_closes_at: datetime | None
    window_open: bool
    is_whatsapp: bool
    templates: list[dict]


def ticket_messaging_state(*, actor: User, ticket_id: int, token_scope: AccessLevel | None = None) -> TicketMessaging:
    ticket = ticket_get_for(actor=actor, ticket_id=ticket_id, token_scope=token_scope)
    conversation = conversation_for_ticket(ticket)
    outbound = list(Outbound.objects.filter(message__ticket_id=ticket.pk).select_related("message")
                    .order_by("-created_at")[:20])
    closes = window_closes_at(conversation) if conversation else None
    is_whatsapp = bool(conversation and conversation.connector.provider == Provider.WHATSAPP)
    return TicketMessaging(conversation=conversation, outbound=outbound, window_closes_at=closes,
                           window_open=bool(closes and closes > timezone.now()), is_whatsapp=is_whatsapp,
                           templates=conversation.connector.templates if is_whatsapp else [])
