"""The agent workspace's own data and actions: inbox filters, saved views, canned replies, bulk actions.

Writes are keyword-only, atomic and audited like cx/tickets/services.py; ticket changes themselves always go
through ``ticket_update``, so bulk actions validate and audit exactly like a change made on the ticket page.
The reads at the end load what the workspace pages need (permission-checked, relations up front).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.audit import audit_events_for, audit_record
from cx.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from cx.core.models import AuditEvent
from cx.tickets.models import (
    Attachment,
    CannedReply,
    Channel,
    Priority,
    SavedView,
    StatusCategory,
    Ticket,
)
from cx.tickets.selectors import (
    COUNTS_TTL_SECONDS,
    QUEUES,
    SORTS,
    capped_count,
    counts_cache_key,
    queue_counts,
    ticket_filter,
    visible_tickets,
)
from cx.tickets.services import ticket_update

ANY_QUEUE = "any"
FILTER_KEYS = ("queue", "status_category", "priority", "assignee", "team", "tag", "channel")
MAX_BULK = 100
MAX_VIEW_NAME = 80
MAX_CANNED_TITLE = 100
MAX_CANNED_BODY = 20_000

# --- Inbox filters ----------------------------------------------------------------------------------------


def inbox_filters_clean(raw: Mapping[str, Any]) -> dict[str, str]:
    """The inbox filters from GET parameters or a saved view: only known keys, every value checked.
    Empty values are dropped; anything else invalid is a ValidationFailed naming the field."""
    cleaned: dict[str, str] = {}
    errors: dict[str, str] = {}
    for key in FILTER_KEYS:
        value = raw.get(key)
        if value is None:
            continue
        value = str(value).strip()
        if not value:
            continue
        if key == "queue" and value not in (*QUEUES, ANY_QUEUE):
            errors[key] = f"one of {', '.join((*QUEUES, ANY_QUEUE))}"
        elif key == "status_category" and value not in StatusCategory.values:
            errors[key] = f"one of {', '.join(StatusCategory.values)}"
        elif key == "priority" and value not in Priority.values:
            errors[key] = f"one of {', '.join(Priority.values)}"
        elif key == "channel" and value not in Channel.values:
            errors[key] = f"one of {', '.join(Channel.values)}"
        elif key == "assignee" and value not in ("me", "none") and not (value.isascii() and value.isdigit()):
            errors[key] = "an agent id, me or none"
        elif key == "team" and value != "none" and not (value.isascii() and value.isdigit()):
            errors[key] = "a team id or none"
        elif key == "tag":
            value = "-".join(value.lower().split())
            if len(value) > 50:
                errors[key] = "at most 50 characters"
        cleaned[key] = value
    if errors:
        raise ValidationFailed("Some filters are invalid.", fields=errors)
    return cleaned


def inbox_sort_clean(sort: Any) -> str:
    sort = str(sort or "updated")
    if sort not in SORTS:
        raise ValidationFailed("Unknown sort.", fields={"sort": f"one of {', '.join(SORTS)}"})
    return sort


def inbox_tickets(*, actor: User, filters: Mapping[str, str]) -> QuerySet[Ticket]:
    """Visible tickets of a queue (``any`` = every visible ticket) narrowed by cleaned filters."""
    queue = filters.get("queue", ANY_QUEUE)
    return ticket_filter(
        visible_tickets(actor=actor), actor=actor, queue=None if queue == ANY_QUEUE else queue,
        status_category=filters.get("status_category"), priority=filters.get("priority"),
        channel=filters.get("channel"), assignee=filters.get("assignee"), team=filters.get("team"),
        tag=filters.get("tag") or None,
    )


# --- Saved views ------------------------------------------------------------------------------------------


def _clean_name(value: Any, *, field_name: str, max_length: int) -> str:
    name = " ".join(str(value or "").split())
    if not name:
        raise ValidationFailed("A name is required.", fields={field_name: "required"})
    if len(name) > max_length:
        raise ValidationFailed("The name is too long.", fields={field_name: f"at most {max_length} characters"})
    return name


@transaction.atomic
def saved_view_create(*, actor: User, name: str, filters: Mapping[str, Any], sort: str = "updated",
                      is_shared: bool = False) -> SavedView:
    """Save the current inbox filters and sort under a name; shared views show in every agent's sidebar.
    Anyone may keep private views; sharing one with the whole team needs write access."""
    require_access(actor, AccessLevel.WRITE if is_shared else AccessLevel.READ)
    name = _clean_name(name, field_name="name", max_length=MAX_VIEW_NAME)
    cleaned = inbox_filters_clean(filters)
    sort = inbox_sort_clean(sort)
    if SavedView.objects.filter(owner=actor, name__iexact=name).exists():
        raise ValidationFailed("You already have a view with that name.", fields={"name": "already used"})
    try:
        with transaction.atomic():
            view = SavedView.objects.create(name=name, owner=actor, is_shared=bool(is_shared), filters=cleaned,
                                            sort=sort)
    except IntegrityError:  # a concurrent save with the same name
        raise ValidationFailed("You already have a view with that name.", fields={"name": "already used"}) from None
    audit_record(actor=actor, action="saved_view.created", target_type="saved_view", target_id=view.pk,
                 data={"name": name, "filters": cleaned, "sort": sort, "is_shared": view.is_shared})
    return view


@transaction.atomic
def saved_view_delete(*, actor: User, view: SavedView) -> None:
    """Owners delete their views; admins may delete any shared view."""
    require_access(actor, AccessLevel.READ)
    if view.owner_id != actor.pk and not actor.is_cx_admin:
        raise PermissionDenied("Only the owner or an admin can delete this view.")
    audit_record(actor=actor, action="saved_view.deleted", target_type="saved_view", target_id=view.pk,
                 data={"name": view.name})
    view.delete()


@transaction.atomic
def saved_view_update(*, actor: User, view: SavedView, changes: Mapping[str, Any],
                      token_scope: AccessLevel | None = None) -> SavedView:
    """Rename a view, replace its filters or sort, share or unshare it. Owners change their views; admins may
    also change shared ones. Sharing needs write access, as in ``saved_view_create``."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    view = SavedView.objects.select_for_update().get(pk=view.pk)
    if view.owner_id != actor.pk and not (actor.is_cx_admin and view.is_shared):
        raise PermissionDenied("Only the owner or an admin can change this view.")
    is_shared = bool(changes.get("is_shared", view.is_shared))
    if is_shared:
        require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    name = view.name
    if "name" in changes:
        name = _clean_name(changes["name"], field_name="name", max_length=MAX_VIEW_NAME)
    filters = inbox_filters_clean(changes["filters"]) if "filters" in changes else view.filters
    sort = inbox_sort_clean(changes["sort"]) if "sort" in changes else view.sort
    taken = SavedView.objects.filter(owner_id=view.owner_id, name__iexact=name).exclude(pk=view.pk)
    if taken.exists():
        raise ValidationFailed("You already have a view with that name.", fields={"name": "already used"})
    view.name, view.filters, view.sort, view.is_shared = name, filters, sort, is_shared
    try:
        with transaction.atomic():
            view.save(update_fields=["name", "filters", "sort", "is_shared", "updated_at"])
    except IntegrityError:  # a concurrent rename to the same name
        raise ValidationFailed("You already have a view with that name.", fields={"name": "already used"}) from None
    audit_record(actor=actor, action="saved_view.updated", target_type="saved_view", target_id=view.pk,
                 data={"name": name, "filters": filters, "sort": sort, "is_shared": is_shared})
    return view


# --- Canned replies ---------------------------------------------------------------------------------------

PLACEHOLDERS = ("customer.first_name", "customer.name", "ticket.id", "ticket.subject", "agent.first_name")
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")
_ANY_PLACEHOLDER = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def placeholders_render(template: str, values: Mapping[str, str]) -> str:
    """Replace ``{{name}}`` placeholders with plain values in one pass; unknown ones stay as written.
    Deliberately not the Django template engine: the template is user input and must not reach tags,
    filters or attribute lookups, and values are inserted verbatim (a value containing ``{{`` is not
    expanded again)."""
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)


def placeholder_values(*, ticket: Ticket, agent: User) -> dict[str, str]:
    customer = ticket.requester
    return {
        "customer.first_name": customer.first_name or customer.name,
        "customer.name": customer.name,
        "ticket.id": str(ticket.pk),
        "ticket.subject": ticket.subject,
        "agent.first_name": agent.first_name or agent.display_name,
    }


def _clean_canned_body(body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise ValidationFailed("The reply text is empty.", fields={"body": "required"})
    if len(body) > MAX_CANNED_BODY:
        raise ValidationFailed("The reply text is too long.", fields={"body": f"at most {MAX_CANNED_BODY} characters"})
    unknown = sorted({m.group(1) for m in _ANY_PLACEHOLDER.finditer(body)} - set(PLACEHOLDERS))
    if unknown:
        raise ValidationFailed("Unknown placeholder.", fields={
            "body": f"unknown {', '.join('{{' + u + '}}' for u in unknown)}; use "
                    f"{', '.join('{{' + p + '}}' for p in PLACEHOLDERS)}"})
    return body.strip()


@transaction.atomic
def canned_reply_create(*, actor: User, title: str, body: str, is_shared: bool = True) -> CannedReply:
    require_access(actor, AccessLevel.WRITE)
    title = _clean_name(title, field_name="title", max_length=MAX_CANNED_TITLE)
    body = _clean_canned_body(body)
    reply = CannedReply.objects.create(title=title, body=body, owner=actor, is_shared=bool(is_shared))
    audit_record(actor=actor, action="canned_reply.created", target_type="canned_reply", target_id=reply.pk,
                 data={"title": title, "is_shared": reply.is_shared})
    return reply


@transaction.atomic
def canned_reply_delete(*, actor: User, reply: CannedReply) -> None:
    require_access(actor, AccessLevel.WRITE)
    if reply.owner_id != actor.pk and not actor.is_cx_admin:
        raise PermissionDenied("Only the author or an admin can delete this canned reply.")
    audit_record(actor=actor, action="canned_reply.deleted", target_type="canned_reply", target_id=reply.pk,
                 data={"title": reply.title})
    reply.delete()


@transaction.atomic
def canned_reply_update(*, actor: User, reply: CannedReply, changes: Mapping[str, Any],
                        token_scope: AccessLevel | None = None) -> CannedReply:
    """Change a canned reply's title, text or sharing; only its author or an admin may."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    reply = CannedReply.objects.select_for_update().get(pk=reply.pk)
    if reply.owner_id != actor.pk and not actor.is_cx_admin:
        raise PermissionDenied("Only the author or an admin can change this canned reply.")
    if "title" in changes:
        reply.title = _clean_name(changes["title"], field_name="title",
                                            max_length=MAX_CANNED_TITLE)
    if "body" in changes:
        reply.body = _clean_canned_body(changes["body"])
    if "is_shared" in changes:
        reply.is_shared = bool(changes["is_shared"])
    reply.save(update_fields=["title", "body", "is_shared", "updated_at"])
    audit_record(actor=actor, action="canned_reply.updated", target_type="canned_reply", target_id=reply.pk,
                 data={"title": reply.title, "is_shared": reply.is_shared, "changed": sorted(changes)})
    return reply


def canned_reply_render(*, actor: User, reply: CannedReply, ticket: Ticket) -> str:
    """The canned reply's text for this ticket, placeholders filled in."""
    return placeholders_render(reply.body, placeholder_values(ticket=ticket, agent=actor))


# --- Bulk actions -----------------------------------------------------------------------------------------

BULK_ACTIONS = {
    "assign_agent": "Assign to agent",
    "assign_team": "Assign to team",
    "set_status": "Set status",
    "set_priority": "Set priority",
    "add_tag": "Add tag",
}


@dataclass
class BulkOutcome:
    updated: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)  # ticket id -> reason


def _optional_id(value: str, *, field_name: str, none_means: str = "none") -> int | None:
    if value == none_means:
        return None
    if not (value.isascii() and value.isdigit()):
        raise ValidationFailed("Choose a value for the action.", fields={field_name: f"an id or {none_means}"})
    return int(value)


def _bulk_changes(*, actor: User, action: str, value: str) -> dict[str, Any] | None:
    """The ``ticket_update`` changes for an action; None for add_tag (it depends on each ticket's tags)."""
    if action == "assign_agent":
        return {"assignee_id": actor.pk if value == "me" else _optional_id(value, field_name="value")}
    if action == "assign_team":
        return {"team_id": _optional_id(value, field_name="value")}
    if action == "set_status":
        if not (value.isascii() and value.isdigit()):
            raise ValidationFailed("Choose a status.", fields={"value": "a status id"})
        return {"status_id": int(value)}
    if action == "set_priority":
        if value not in Priority.values:
            raise ValidationFailed("Choose a priority.", fields={"value": f"one of {', '.join(Priority.values)}"})
        return {"priority": value}
    if action == "add_tag":
        if not value.strip():
            raise ValidationFailed("Type the tag to add.", fields={"value": "required"})
        return None
    raise ValidationFailed("Unknown bulk action.", fields={"action": f"one of {', '.join(BULK_ACTIONS)}"})


def _error_text(error: DomainError) -> str:
    if not error.fields:
        return error.message
    return f"{error.message} " + "; ".join(f"{name}: {reason}" for name, reason in error.fields.items())


@transaction.atomic
def tickets_bulk_update(*, actor: User, ticket_ids: list[int], action: str, value: str) -> BulkOutcome:
    """Apply one action to many tickets in one transaction, each through ``ticket_update`` (its own savepoint):
    a ticket that refuses the change (unknown agent, not a team member, required fields missing) is reported
    with its reason and left unchanged; the others are changed."""
    require_access(actor, AccessLevel.WRITE)
    ids = list(dict.fromkeys(ticket_ids))
    if not ids:
        raise ValidationFailed("Select at least one ticket.", fields={"ticket_ids": "required"})
    if len(ids) > MAX_BULK:
        raise ValidationFailed("Too many tickets at once.", fields={"ticket_ids": f"at most {MAX_BULK}"})
    changes = _bulk_changes(actor=actor, action=action, value=str(value or "").strip())
    tickets = {t.pk: t for t in visible_tickets(actor=actor).filter(pk__in=ids).prefetch_related("tags")}
    outcome = BulkOutcome()
    for ticket_id in ids:
        ticket = tickets.get(ticket_id)
        if ticket is None:
            outcome.errors[ticket_id] = "No such ticket."
            continue
        ticket_changes = changes
        if ticket_changes is None:
            ticket_changes = {"tags": [t.name for t in ticket.tags.all()] + [value]}
        try:
            ticket_update(actor=actor, ticket=ticket, changes=ticket_changes)
        except DomainError as error:
            outcome.errors[ticket_id] = _error_text(error)
        else:
            outcome.updated.append(ticket_id)
    audit_record(actor=actor, action="tickets.bulk_updated", target_type="user", target_id=actor.pk,
                 data={"action": action, "value": value, "updated": outcome.updated,
                       "failed": {str(k): v for k, v in outcome.errors.items()}})
    return outcome


# --- Reads ------------------------------------------------------------------------------------------------


def saved_views_for(*, actor: User) -> list[SavedView]:
    """The actor's own views and everyone's shared views."""
    require_access(actor, AccessLevel.READ)
    return list(SavedView.objects.filter(Q(owner=actor) | Q(is_shared=True)).select_related("owner")
                .order_by("name", "id"))


def saved_view_get_for(*, actor: User, view_id: int) -> SavedView:
    view = next((v for v in saved_views_for(actor=actor) if v.pk == view_id), None)
    if view is None:
        raise NotFound(f"No saved view with id {view_id}.")
    return view


def inbox_counts(*, actor: User, views: list[SavedView]) -> dict[str, int]:
    """Open tickets per queue (keyed by queue) and per saved view (keyed ``view-<id>``): one capped COUNT each.

    The inbox refetches its sidebar after every page view and every live update, so an agent's counts are
    kept for COUNTS_TTL_SECONDS. The cache key holds the time of the latest ticket change (one index probe)
    and a generation that team and membership changes renew, so a count is never older than the last saved
    ticket, whichever process saved it; changes that bypass ``save`` show within the TTL."""
    require_access(actor, AccessLevel.READ)
    key = counts_cache_key(actor=actor, views=views)
    cached = cache.get(key)
    if cached is not None:
        return dict(cached)
    counts = queue_counts(actor=actor)
    for view in views:
        try:
            filters = inbox_filters_clean(view.filters)
        except ValidationFailed:
            continue  # a view saved against a team or agent id that no longer parses simply shows no count
        counts[f"view-{view.pk}"] = capped_count(inbox_tickets(actor=actor, filters=filters))
    cache.set(key, counts, timeout=COUNTS_TTL_SECONDS)
    return counts


def canned_replies_for(*, actor: User) -> list[CannedReply]:
    require_access(actor, AccessLevel.READ)
    return list(CannedReply.objects.filter(Q(owner=actor) | Q(is_shared=True)).select_related("owner")
                .order_by("title", "id"))


def canned_reply_get_for(*, actor: User, reply_id: int) -> CannedReply:
    require_access(actor, AccessLevel.READ)
    reply = CannedReply.objects.filter(Q(owner=actor) | Q(is_shared=True), pk=reply_id).first()
    if reply is None:
        raise NotFound(f"No canned reply with id {reply_id}.")
    return reply


def attachment_get_for(*, actor: User, attachment_id: int) -> Attachment:
    """The attachment if the actor may see its ticket; NotFound otherwise (also for restricted teams)."""
    require_access(actor, AccessLevel.READ)
    attachment = Attachment.objects.select_related("message").filter(pk=attachment_id).first()
    if attachment is None or not visible_tickets(actor=actor).filter(pk=attachment.message.ticket_id).exists():
        raise NotFound(f"No attachment with id {attachment_id}.")
    return attachment


def ticket_audit_trail(*, actor: User, ticket: Ticket, limit: int = 200) -> list[AuditEvent]:
    """Who changed what on the ticket, oldest first (the ticket was already permission-checked)."""
    require_access(actor, AccessLevel.READ)
    return list(audit_events_for(target_type="ticket", target_id=ticket.pk).select_related("actor")[:limit])
