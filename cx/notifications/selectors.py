"""Reads for notifications: an agent's own inbox, unread count and effective preferences."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.errors import NotFound, ValidationFailed
from cx.core.pagination import cursor_decode, cursor_encode
from cx.notifications.models import DEFAULT_PREFERENCES, Notification, NotificationKind, NotificationPreference

MAX_PAGE_SIZE = 100


def notification_list(*, actor: User, unread_only: bool = False,
                      token_scope: AccessLevel | None = None) -> QuerySet[Notification]:
    """The actor's own in-app notifications, newest first (nobody reads anyone else's)."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    qs = Notification.objects.filter(recipient=actor, in_app=True)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-id")


@dataclass(frozen=True)
class NotificationPage:
    items: list[Notification]
    next_cursor: str | None


def notification_page(*, actor: User, unread_only: bool = False, cursor: str | None = None, limit: int = 50,
                      token_scope: AccessLevel | None = None) -> NotificationPage:
    """One page of the inbox with a keyset cursor on the id (one query whatever the page size)."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed("Page size out of range.", fields={"limit": f"1 to {MAX_PAGE_SIZE}"})
    qs = notification_list(actor=actor, unread_only=unread_only, token_scope=token_scope)
    if cursor:
        (last_id,) = cursor_decode(cursor, size=1)
        if isinstance(last_id, bool) or not isinstance(last_id, int):
            raise ValidationFailed("The cursor is not valid.", fields={"cursor": "malformed cursor"})
        qs = qs.filter(pk__lt=last_id)
    rows = list(qs[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = cursor_encode([rows[-1].pk])
    return NotificationPage(items=rows, next_cursor=next_cursor)


def notification_unread_count(*, actor: User) -> int:
    return Notification.objects.filter(recipient=actor, in_app=True, read_at__isnull=True).count()


def notification_get_for(*, actor: User, notification_id: int, token_scope: AccessLevel | None = None
                         ) -> Notification:
    notification = notification_list(actor=actor, token_scope=token_scope).filter(pk=notification_id).first()
    if notification is None:
        raise NotFound(f"No notification with id {notification_id}.")
    return notification


def ticket_page_url(ticket_id: int | None) -> str:
    """The agent page of a ticket, or "" while the tickets app serves no such page (never a dead link)."""
    if ticket_id is None:
        return ""
    try:
        return reverse("tickets:detail", args=[ticket_id])
    except NoReverseMatch:
        return ""


def notification_link(notification: Notification) -> str:
    return notification.url or ticket_page_url(notification.ticket_id)


@dataclass(frozen=True)
class EffectivePreference:
    kind: str
    label: str
    in_app: bool
    email: bool


def notification_preferences_for(*, user: User) -> list[EffectivePreference]:
    """Every kind with the user's choice, or the default where they have not chosen."""
    chosen = {p.kind: p for p in NotificationPreference.objects.filter(user=user)}
    rows = []
    for kind, label in NotificationKind.choices:
        in_app, email = DEFAULT_PREFERENCES[kind]
        if kind in chosen:
            in_app, email = chosen[kind].in_app, chosen[kind].email
        rows.append(EffectivePreference(kind=kind, label=label, in_app=in_app, email=email))
    return rows


def notification_preferences_of(*, actor: User, token_scope: AccessLevel | None = None
                                 ) -> list[EffectivePreference]:
    """The actor's own preferences, for their settings page and the API."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    return notification_preferences_for(user=actor)


def notification_preference_for(*, user: User, kind: str) -> tuple[bool, bool]:
    """(in_app, email) for one kind."""
    chosen = NotificationPreference.objects.filter(user=user, kind=kind).values_list("in_app", "email").first()
    return chosen if chosen is not None else DEFAULT_PREFERENCES[kind]
