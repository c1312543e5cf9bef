"""Writes for notifications: tell an agent something (in the app, live, and/or by email), mark read, and
set preferences. ``notify_agent`` is the public entry point for other apps (automations, SLA warnings);
``notify_on_ticket_change`` is the tickets observer (assignment, customer replies, @mentions in notes).

Nothing leaves before commit: the live push and the email task are queued with ``transaction.on_commit``.
Marking read is the agent's own inbox state, so it is not written to the audit log.
"""

from __future__ import annotations

import re
from functools import partial

from django.db import transaction
from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.errors import PermissionDenied, ValidationFailed
from cx.notifications.models import Notification, NotificationKind, NotificationPreference
from cx.notifications.selectors import (
    EffectivePreference,
    notification_get_for,
    notification_link,
    notification_preference_for,
    notification_preferences_for,
)
from cx.notifications.tasks import send_notification_email
from cx.realtime.publish import publish_on_commit
from cx.tickets.hooks import TicketChange
from cx.tickets.models import Message, Ticket
from cx.tickets.selectors import visible_tickets

MAX_TITLE = 200
MAX_BODY = 5000
MAX_URL = 500
EXCERPT = 300
# @username in an internal note; usernames may contain letters, digits and @ . + - _ (Django's rule).
_MENTION = re.compile(r"(?<![\w@.+-])@([\w.@+-]{1,150})")


def _shorten(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _clean_url(url: str) -> str:
    if not isinstance(url, str):
        raise ValidationFailed("The link is not valid.", fields={"url": "must be a string"})
    url = url.strip()
    if not url:
        return ""
    if len(url) > MAX_URL:
        raise ValidationFailed("The link is too long.", fields={"url": f"at most {MAX_URL} characters"})
    # A path inside cxdesk, or an absolute http(s) URL; never javascript: or protocol-relative links.
    if (url.startswith("/") and not url.startswith("//")) or url.lower().startswith(("http://", "https://")):
        return url
    raise ValidationFailed("The link is not valid.", fields={"url": "a path starting with / or an http(s) URL"})


@transaction.atomic
def notify_agent(*, recipient: User, kind: str, title: str, body: str = "", ticket_id: int | None = None,
                 url: str = "") -> Notification | None:
    """Tell one agent something, the way their preferences for ``kind`` say.

    Returns the stored notification, or None when the agent is inactive or wants neither channel for this
    kind. Long titles and bodies are shortened rather than refused (automations write them from templates).
    """
    errors: dict[str, str] = {}
    if kind not in NotificationKind.values:
        errors["kind"] = f"one of {', '.join(NotificationKind.values)}"
    if not isinstance(title, str) or not title.strip():
        errors["title"] = "required"
    if not isinstance(body, str):
        errors["body"] = "must be a string"
    if ticket_id is not None and (isinstance(ticket_id, bool) or not isinstance(ticket_id, int)
                                  or not Ticket.objects.filter(pk=ticket_id).exists()):
        errors["ticket_id"] = "no such ticket"
    if errors:
        raise ValidationFailed("The notification is invalid.", fields=errors)
    url = _clean_url(url)
    if recipient is None or not recipient.is_active:
        return None
    in_app, email = notification_preference_for(user=recipient, kind=kind)
    email = email and bool(recipient.email)
    if not in_app and not email:
        return None
    notification = Notification.objects.create(
        recipient=recipient, kind=kind, ticket_id=ticket_id, title=_shorten(title, MAX_TITLE),
        body=_shorten(body, MAX_BODY), url=url, in_app=in_app,
    )
    if in_app:
        publish_on_commit(group=f"user.{recipient.pk}", event_type="notification.created", payload={
            "notification_id": notification.pk, "kind": kind, "title": notification.title,
            "ticket_id": ticket_id, "url": notification_link(notification),
        })
    if email:
        transaction.on_commit(partial(send_notification_email.enqueue, notification_id=notification.pk))
    return notification


def _require_own_inbox_write(actor: User, token_scope: AccessLevel | None) -> None:
    """Every agent (analysts too) manages their own inbox, but a read-only token changes nothing."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    if token_scope is not None and token_scope < AccessLevel.WRITE:
        raise PermissionDenied("A read-only token cannot change notifications; use a write token.")


@transaction.atomic
def notification_mark_read(*, actor: User, notification_id: int,
                           token_scope: AccessLevel | None = None) -> Notification:
    _require_own_inbox_write(actor, token_scope)
    notification = notification_get_for(actor=actor, notification_id=notification_id, token_scope=token_scope)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notification_mark_all_read(*, actor: User, token_scope: AccessLevel | None = None) -> int:
    """Mark every unread notification of the actor read; returns how many changed."""
    _require_own_inbox_write(actor, token_scope)
    return Notification.objects.filter(recipient=actor, in_app=True, read_at__isnull=True).update(
        read_at=timezone.now())


@transaction.atomic
def notification_preferences_update(*, actor: User, preferences: dict[str, dict[str, bool]],
                                    token_scope: AccessLevel | None = None) -> list[EffectivePreference]:
    """Set in-app/email per kind for the kinds given (others keep their setting). All or nothing."""
    _require_own_inbox_write(actor, token_scope)
    if not isinstance(preferences, dict):
        raise ValidationFailed("Preferences must be an object keyed by kind.", fields={"preferences": "an object"})
    errors: dict[str, str] = {}
    for kind, choice in preferences.items():
        if kind not in NotificationKind.values:
            errors[kind] = f"unknown kind; use one of {', '.join(NotificationKind.values)}"
        elif not isinstance(choice, dict) or set(choice) != {"in_app", "email"} \
                or not all(isinstance(v, bool) for v in choice.values()):
            errors[kind] = "needs in_app and email, both true or false"
    if errors:
        raise ValidationFailed("Some preferences are invalid.", fields=errors)
    for kind, choice in preferences.items():
        NotificationPreference.objects.update_or_create(
            user=actor, kind=kind, defaults={"in_app": choice["in_app"], "email": choice["email"]})
    return notification_preferences_for(user=actor)


# --- The tickets observer ---------------------------------------------------------------------------------

def _recipients(ticket_id: int, user_ids: set[int]) -> list[User]:
    """Active agents among ``user_ids`` who may see the ticket (restricted teams stay private)."""
    users = User.objects.filter(pk__in=user_ids, is_active=True).order_by("pk")
    return [u for u in users if visible_tickets(actor=u).filter(pk=ticket_id).exists()]


def _actor_name(actor_id: int | None) -> str:
    if actor_id is None:
        return "automatically"
    actor = User.objects.filter(pk=actor_id).first()
    return f"by {actor.display_name}" if actor else "automatically"


def _message_text(message_id: int | None) -> str:
    if message_id is None:
        return ""
    return Message.objects.filter(pk=message_id).values_list("body_text", flat=True).first() or ""


def _notify_assignment(change: TicketChange, ticket: Ticket) -> None:
    if change.event == "updated":
        if "assignee_id" not in change.changes:
            return
        assignee_id = change.changes["assignee_id"][1]
    else:
        assignee_id = ticket.assignee_id
    if assignee_id is None or assignee_id == change.actor_id:
        return
    for agent in _recipients(ticket.pk, {assignee_id}):
        notify_agent(recipient=agent, kind=NotificationKind.TICKET_ASSIGNED, ticket_id=ticket.pk,
                     title=f"Ticket #{ticket.pk} was assigned to you",
                     body=f"{ticket.subject} ({_actor_name(change.actor_id)})")


def _notify_customer_reply(change: TicketChange, ticket: Ticket) -> None:
    watchers = set(ticket.followers.values_list("pk", flat=True))
    if ticket.assignee_id is not None:
        watchers.add(ticket.assignee_id)
    watchers.discard(change.actor_id)
    if not watchers:
        return
    excerpt = _shorten(_message_text(change.message_id), EXCERPT)
    for agent in _recipients(ticket.pk, watchers):
        notify_agent(recipient=agent, kind=NotificationKind.CUSTOMER_REPLIED, ticket_id=ticket.pk,
                     title=f"{ticket.requester.name} replied on #{ticket.pk}: {ticket.subject}", body=excerpt)


def _notify_mentions(change: TicketChange, ticket: Ticket) -> None:
    text = _message_text(change.message_id)
    names = {name.rstrip(".-") for name in _MENTION.findall(text)}
    if not names:
        return
    mentioned = set(User.objects.filter(username__in=names, is_active=True).values_list("pk", flat=True))
    mentioned.discard(change.actor_id)
    author = _actor_name(change.actor_id).removeprefix("by ")
    for agent in _recipients(ticket.pk, mentioned):
        notify_agent(recipient=agent, kind=NotificationKind.MENTIONED, ticket_id=ticket.pk,
                     title=f"{author} mentioned you on #{ticket.pk}: {ticket.subject}",
                     body=_shorten(text, EXCERPT))


def notify_on_ticket_change(change: TicketChange) -> None:
    """Assignment to someone else → the assignee; a customer reply → assignee and followers; an @mention in
    an internal note → the mentioned agent. The agent who acted is never told about their own action."""
    if change.event not in {"created", "updated", "customer_replied", "noted"}:
        return
    ticket = Ticket.objects.select_related("requester").filter(pk=change.ticket_id).first()
    if ticket is None:
        return
    if change.event in {"created", "updated"}:
        _notify_assignment(change, ticket)
    elif change.event == "customer_replied":
        _notify_customer_reply(change, ticket)
    else:
        _notify_mentions(change, ticket)
