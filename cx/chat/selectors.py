"""Reads for live chat: inbox configuration (admins), what a widget may show its visitor (public messages of
the visitor's own conversation only), whether a chat is staffed now, and agents' chat queues."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Max, QuerySet
from django.urls import reverse
from django.utils import timezone

from cx.accounts.models import AccessLevel, AgentStatus, Role, User
from cx.accounts.services import require_access
from cx.chat.models import (
    DEFAULT_AGENT_CHAT_LIMIT,
    LIVE_STATUSES,
    ChatConversation,
    ChatInbox,
    ChatVisitor,
    ConversationStatus,
)
from cx.chat.registry import quick_replies_for
from cx.core.errors import NotFound
from cx.tickets.business_hours import is_open
from cx.tickets.models import Attachment, AuthorType, Message, Visibility

VISITOR_ONLINE_FOR = timedelta(seconds=70)  # the widget pings every 25 s while a tab is open
HISTORY_LIMIT = 200


def chat_inbox_list(*, actor: User, token_scope: AccessLevel | None = None) -> QuerySet[ChatInbox]:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    return ChatInbox.objects.select_related("calendar", "team").order_by("name")


def chat_inbox_get_for(*, actor: User, inbox_id: int, token_scope: AccessLevel | None = None) -> ChatInbox:
    inbox = chat_inbox_list(actor=actor, token_scope=token_scope).filter(pk=inbox_id).first()
    if inbox is None:
        raise NotFound(f"No chat inbox with id {inbox_id}.")
    return inbox


def chat_inbox_by_widget_key(*, widget_key: str) -> ChatInbox:
    """The active inbox a widget's ``data-inbox`` names (public: no actor)."""
    inbox = None
    if isinstance(widget_key, str) and 0 < len(widget_key) <= 40:
        inbox = ChatInbox.objects.select_related("calendar").filter(widget_key=widget_key, is_active=True).first()
    if inbox is None:
        raise NotFound("No chat inbox with that key.", fields={"inbox": "unknown or disabled widget key"})
    return inbox


def origin_allowed(inbox: ChatInbox, origin: str | None) -> bool:
    """Whether a page at ``origin`` may use the inbox's widget (no list: any page; no Origin header: not a
    browser's cross-site request, allowed)."""
    if not inbox.allowed_origins or not origin:
        return True
    return origin.rstrip("/").lower() in inbox.allowed_origins


# --- Availability ---------------------------------------------------------------------------------------

def online_agents(inbox: ChatInbox) -> QuerySet[User]:
    agents = User.objects.filter(status=AgentStatus.ONLINE, is_active=True, is_system=False,
                                 role__in=[Role.AGENT, Role.TEAM_LEAD, Role.ADMIN])
    if inbox.team_id:
        agents = agents.filter(team_memberships__team_id=inbox.team_id)
    return agents


@dataclass(frozen=True)
class Availability:
    within_hours: bool
    agents_online: bool

    @property
    def open(self) -> bool:
        return self.within_hours and self.agents_online


def chat_availability(*, inbox: ChatInbox) -> Availability:
    within = True
    if inbox.calendar is not None:
        within = is_open(inbox.calendar.to_calendar(), timezone.now())
    return Availability(within_hours=within, agents_online=online_agents(inbox).exists())


# --- Capacity -------------------------------------------------------------------------------------------

def agent_live_chat_count(*, user_id: int) -> int:
    return ChatConversation.objects.filter(agent_id=user_id, status=ConversationStatus.ACTIVE).count()


def agent_chat_limit() -> int:
    """Concurrent chats per agent: the inbox's limit (the highest when several inboxes are active)."""
    limit = ChatInbox.objects.filter(is_active=True).aggregate(limit=Max("agent_chat_limit"))["limit"]
    return limit or DEFAULT_AGENT_CHAT_LIMIT


# --- What the widget shows ------------------------------------------------------------------------------

def visitor_by_public_id(*, inbox: ChatInbox, public_id: str) -> ChatVisitor | None:
    return ChatVisitor.objects.filter(inbox=inbox, public_id=public_id).select_related("customer").first()


def visitor_by_token(*, inbox: ChatInbox, token: str) -> ChatVisitor | None:
    """The visitor a widget's visitor token names, when this server issued it for this inbox; else None."""
    from cx.chat.identity import visitor_token_read

    public_id = visitor_token_read(token, inbox_id=inbox.pk) if isinstance(token, str) else None
    return visitor_by_public_id(inbox=inbox, public_id=public_id) if public_id else None


def visitor_current_conversation(*, visitor: ChatVisitor) -> ChatConversation | None:
    """The live conversation, else the last one (its history is shown after a reload)."""
    conversations = ChatConversation.objects.filter(visitor=visitor).select_related("agent", "ticket")
    return conversations.filter(status__in=LIVE_STATUSES).first() or conversations.first()


def attachment_path(*, widget_key: str, attachment_id: int) -> str:
    return reverse("chat:widget_attachment", kwargs={"widget_key": widget_key, "attachment_id": attachment_id})


def agent_public_name(agent: User | None) -> str:
    if agent is None:
        return "Support"
    return agent.first_name or agent.display_name


def message_frame(message: Message, *, widget_key: str, attachments: list[Attachment] | None = None
                  ) -> dict[str, Any]:
    """A ticket message as the widget shows it (``attachments``: already known, e.g. none, saving a query)."""
    if message.author_type == AuthorType.CUSTOMER:
        author, name = "visitor", ""
    elif message.author_type == AuthorType.AGENT:
        author, name = "agent", agent_public_name(message.author_agent)
    else:
        author, name = "system", ""
    return {
        "id": message.pk,
        "author": author,
        "author_name": name,
        "body": message.body_text,
        "created_at": message.created_at.isoformat(),
        "quick_replies": quick_replies_for(message),
        "attachments": [{"id": a.pk, "name": a.filename, "size": a.size, "content_type": a.content_type,
                         "url": attachment_path(widget_key=widget_key, attachment_id=a.pk)}
                        for a in (message.attachments.all() if attachments is None else attachments)],
    }


def conversation_messages(*, conversation: ChatConversation) -> QuerySet[Message]:
    """Public messages only: internal notes never reach the widget."""
    return (Message.objects.filter(ticket_id=conversation.ticket_id, visibility=Visibility.PUBLIC)
            .select_related("author_agent").prefetch_related("attachments").order_by("created_at", "id"))


def conversation_frame(*, conversation: ChatConversation, widget_key: str) -> dict[str, Any]:
    # The latest HISTORY_LIMIT messages, read newest first so a long chat does not load its whole history.
    newest = conversation_messages(conversation=conversation).order_by("-created_at", "-id")[:HISTORY_LIMIT]
    messages = list(newest)[::-1]
    return {
        "id": conversation.pk,
        "status": conversation.status,
        "agent_name": agent_public_name(conversation.agent) if conversation.agent_id else "",
        "visitor_read_message_id": conversation.visitor_read_message_id,
        "agent_read_message_id": conversation.agent_read_message_id,
        "messages": [message_frame(m, widget_key=widget_key) for m in messages],
    }


# --- Agents' side ---------------------------------------------------------------------------------------

def chat_queue(*, actor: User, token_scope: AccessLevel | None = None) -> dict[str, list[ChatConversation]]:
    """Waiting chats (oldest first) and the actor's own live chats."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    live = ChatConversation.objects.select_related("visitor", "inbox", "agent", "ticket", "ticket__requester")
    return {
        "waiting": list(live.filter(status=ConversationStatus.WAITING).order_by("created_at")[:100]),
        "mine": list(live.filter(status=ConversationStatus.ACTIVE, agent=actor).order_by("created_at")),
        "others": list(live.filter(status=ConversationStatus.ACTIVE).exclude(agent=actor).order_by("created_at")[:100]),
    }


def visitors_online(*, actor: User, token_scope: AccessLevel | None = None) -> QuerySet[ChatVisitor]:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    since = timezone.now() - VISITOR_ONLINE_FOR
    return ChatVisitor.objects.filter(last_seen_at__gte=since).select_related("inbox", "customer").order_by(
        "-last_seen_at")[:100]


def visitor_get_for(*, actor: User, visitor_id: int, token_scope: AccessLevel | None = None) -> ChatVisitor:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    visitor = ChatVisitor.objects.select_related("inbox", "customer").filter(pk=visitor_id).first()
    if visitor is None:
        raise NotFound(f"No chat visitor with id {visitor_id}.")
    return visitor


def conversation_get_for(*, actor: User, conversation_id: int,
                         token_scope: AccessLevel | None = None) -> ChatConversation:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    conversation = (ChatConversation.objects.select_related("visitor", "inbox", "agent", "ticket")
                    .filter(pk=conversation_id).first())
    if conversation is None:
        raise NotFound(f"No chat with id {conversation_id}.")
    from cx.tickets.selectors import ticket_get_for

    ticket_get_for(actor=actor, ticket_id=conversation.ticket_id, token_scope=token_scope)  # restricted teams
    return conversation


def conversation_for_ticket(*, actor: User, ticket_id: int) -> ChatConversation | None:
    require_access(actor, AccessLevel.READ)
    return (ChatConversation.objects.select_related("visitor", "inbox", "agent", "ticket")
            .filter(ticket_id=ticket_id).first())
