"""Reads for tickets: permission-checked getters and the agent queues, with relations loaded up front."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Max, Prefetch, Q, QuerySet
from django.utils import timezone

from cx.accounts.models import AccessLevel, Team, User
from cx.accounts.selectors import team_ids_of
from cx.accounts.services import require_access
from cx.core.errors import NotFound, ValidationFailed
from cx.core.pagination import cursor_decode_time_id, cursor_encode
from cx.tickets.models import (
    UNRESOLVED_CATEGORIES,
    CustomField,
    Message,
    StatusCategory,
    Ticket,
    TicketStatus,
)

MAX_PAGE_SIZE = 100


def visible_tickets(*, actor: User, token_scope: AccessLevel | None = None) -> QuerySet[Ticket]:
    """Tickets the actor may read: everything except restricted teams' tickets the actor is not in."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    qs = Ticket.objects.all()
    if not actor.is_cx_admin:
        # One small query for the restricted teams the actor is not in: most agents have none, and then the
        # ticket query carries no exclusion at all (cheaper to build and to plan than a subquery).
        hidden = list(Team.objects.filter(is_restricted=True).exclude(memberships__user=actor)
                      .values_list("pk", flat=True))
        if hidden:
            qs = qs.exclude(team_id__in=hidden)
    return qs


def ticket_get_for(*, actor: User, ticket_id: int, token_scope: AccessLevel | None = None) -> Ticket:
    """The ticket with everything its page needs, or NotFound (also for tickets the actor may not see)."""
    ticket = (
        visible_tickets(actor=actor, token_scope=token_scope)
        .select_related("requester", "organization", "status", "assignee", "team", "merged_into")
        .prefetch_related("tags", "followers", "ccs")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise NotFound(f"No ticket with id {ticket_id}.")
    return ticket


def ticket_messages(*, ticket: Ticket, include_internal: bool = True) -> QuerySet[Message]:
    qs = ticket.messages.select_related("author_agent", "author_customer").prefetch_related("attachments")
    if not include_internal:
        qs = qs.filter(visibility="public")
    return qs.order_by("created_at", "id")


def message_get_for(*, actor: User, message_id: int, token_scope: AccessLevel | None = None) -> Message:
    message = Message.objects.select_related("ticket").filter(pk=message_id).first()
    if message is None:
        raise NotFound(f"No message with id {message_id}.")
    ticket_get_for(actor=actor, ticket_id=message.ticket_id, token_scope=token_scope)
    return message


def status_list(*, include_inactive: bool = False) -> QuerySet[TicketStatus]:
    qs = TicketStatus.objects.all()
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("position", "name")


def custom_field_list(*, include_inactive: bool = False) -> QuerySet[CustomField]:
    qs = CustomField.objects.all()
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("position", "key")


# --- Queues -------------------------------------------------------------------------------------------

QUEUES: dict[str, str] = {
    "my-open": "My open",
    "unassigned": "Unassigned",
    "my-team": "My teams",
    "all": "All unresolved",
    "sla-at-risk": "SLA at risk",
    "recently-solved": "Recently solved",
}

SORTS = {
    "updated": ("-updated_at", "-id"),
    "created": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
}


@dataclass(frozen=True)
class QueuePage:
    items: list  # Ticket (ticket_page) or TicketRow (ticket_row_page)
    next_cursor: str | None


def queue_filter(*, actor: User, queue: str, qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    if queue not in QUEUES:
        raise ValidationFailed("Unknown queue.", fields={"queue": f"one of {', '.join(QUEUES)}"})
    unresolved = Q(status_category__in=UNRESOLVED_CATEGORIES)
    if queue == "my-open":
        return qs.filter(unresolved, assignee=actor)
    if queue == "unassigned":
        return qs.filter(unresolved, assignee__isnull=True)
    if queue == "my-team":
        return qs.filter(unresolved, team_id__in=team_ids_of(user=actor))
    if queue == "all":
        return qs.filter(unresolved)
    if queue == "sla-at-risk":
        soon = timezone.now() + timedelta(hours=1)
        return qs.filter(unresolved, sla_next_due_at__isnull=False, sla_next_due_at__lte=soon)
    return qs.filter(status_category=StatusCategory.SOLVED, solved_at__gte=timezone.now() - timedelta(days=7))


ASSIGNEE_RULE = "an agent id, me or none"


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValidationFailed("Times need a time-zone offset.",
                               fields={field: "include a time-zone offset, e.g. 2026-03-01T00:00:00Z"})
    return value


def _id_or_keyword(value: str | int | None, *, field: str, me: User | None = None) -> Q | None:
    """``me`` / ``none`` / an id, as a filter on ``field`` (used for assignee and team)."""
    if value is None or value == "":
        return None
    wanted = str(value).strip().lower()
    if wanted == "me" and me is not None:
        return Q(**{field: me})
    if wanted == "none":
        return Q(**{f"{field}__isnull": True})
    if wanted.isascii() and wanted.isdigit():
        return Q(**{f"{field}_id": int(wanted)})
    raise ValidationFailed(f"Unknown {field} filter.", fields={f"{field}_id": ASSIGNEE_RULE})


def ticket_filter(qs: QuerySet[Ticket], *, actor: User, queue: str | None = None, status_category: str | None = None,
                  status_id: int | None = None, priority: str | None = None, assignee: str | int | None = None,
                  team: str | int | None = None, requester_id: int | None = None, tag: str | None = None,
                  channel: str | None = None, created_after: datetime | None = None,
                  created_before: datetime | None = None, updated_after: datetime | None = None) -> QuerySet[Ticket]:
    """Narrow visible tickets by a queue and any list filters (all must match); shared by the inbox and API."""
    if queue:
        qs = queue_filter(actor=actor, queue=queue, qs=qs)
    for condition in (_id_or_keyword(assignee, field="assignee", me=actor), _id_or_keyword(team, field="team")):
        if condition is not None:
            qs = qs.filter(condition)
    exact = {"status_category": status_category, "status_id": status_id, "priority": priority,
             "requester_id": requester_id, "channel": channel}
    qs = qs.filter(**{name: value for name, value in exact.items() if value is not None})
    if tag:
        qs = qs.filter(tags__name="-".join(tag.strip().lower().split()))
    if created_after is not None:
        qs = qs.filter(created_at__gte=_aware(created_after, "created_after"))
    if created_before is not None:
        qs = qs.filter(created_at__lt=_aware(created_before, "created_before"))
    if updated_after is not None:
        qs = qs.filter(updated_at__gte=_aware(updated_after, "updated_after"))
    return qs


def _keyset(qs: QuerySet[Ticket], *, sort: str, cursor: str | None, limit: int) -> tuple[QuerySet[Ticket], str]:
    """The queryset ordered for ``sort`` and narrowed to after ``cursor``, and the sort's time field."""
    if sort not in SORTS:
        raise ValidationFailed("Unknown sort.", fields={"sort": f"one of {', '.join(SORTS)}"})
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed("Page size out of range.", fields={"limit": f"1 to {MAX_PAGE_SIZE}"})
    time_field, id_field = SORTS[sort]
    descending = time_field.startswith("-")
    field = time_field.lstrip("-")
    if cursor:
        when, last_id = cursor_decode_time_id(cursor)
        if descending:
            qs = qs.filter(Q(**{f"{field}__lt": when}) | Q(**{field: when, "id__lt": last_id}))
        else:
            qs = qs.filter(Q(**{f"{field}__gt": when}) | Q(**{field: when, "id__gt": last_id}))
    return qs.order_by(time_field, id_field), field


def _cut(rows: list, *, limit: int, field: str) -> tuple[list, str | None]:
    """The first ``limit`` rows and the cursor of the next page (None when there is none)."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, cursor_encode([getattr(rows[-1], field), rows[-1].pk])


def ticket_page(*, actor: User, qs: QuerySet[Ticket], sort: str = "updated", cursor: str | None = None,
                limit: int = 50) -> QueuePage:
    """One page of tickets with keyset pagination; a constant number of queries whatever the page size."""
    qs, field = _keyset(qs, sort=sort, cursor=cursor, limit=limit)
    rows = list(qs.select_related("requester", "status", "assignee", "team").prefetch_related(Prefetch("tags"))
                [: limit + 1])
    rows, next_cursor = _cut(rows, limit=limit, field=field)
    return QueuePage(items=rows, next_cursor=next_cursor)


@dataclass(slots=True)
class TicketRow:
    """What one row of the agents' ticket table shows (cx/tickets/templatetags/ticket_rows.py)."""

    pk: int
    subject: str
    status_category: str
    priority: str
    created_at: datetime
    updated_at: datetime
    requester_name: str
    status_name: str
    assignee_name: str | None
    team_name: str | None
    tag_names: list[str]


_ROW_COLUMNS = ("id", "subject", "status_category", "priority", "created_at", "updated_at", "requester_id",
                "requester__display_name", "requester__first_name", "requester__last_name", "status__name",
                "assignee__username", "assignee__first_name", "assignee__last_name", "team__name")


def ticket_row_page(*, actor: User, qs: QuerySet[Ticket], sort: str = "updated", cursor: str | None = None,
                    limit: int = 50) -> QueuePage:
    """``ticket_page`` for the ticket table of the inbox and search: items are TicketRow (the shown columns
    read as plain values, no model instances) and tags come from one query on the ticket-tag table. Two
    queries whatever the page size."""
    qs, field = _keyset(qs, sort=sort, cursor=cursor, limit=limit)
    rows = [
        TicketRow(pk=pk, subject=subject, status_category=category, priority=priority, created_at=created,
                  updated_at=updated,
                  # Customer.name and User.display_name, from the loaded columns
                  requester_name=display or f"{first} {last}".strip() or f"Customer {requester_id}",
                  status_name=status, team_name=team,
                  assignee_name=None if username is None else (f"{a_first} {a_last}".strip() or username),
                  tag_names=[])
        for (pk, subject, category, priority, created, updated, requester_id, display, first, last, status,
             username, a_first, a_last, team) in qs.values_list(*_ROW_COLUMNS)[: limit + 1]
    ]
    rows, next_cursor = _cut(rows, limit=limit, field=field)
    if rows:
        by_id = {row.pk: row for row in rows}
        links = (Ticket.tags.through.objects.filter(ticket_id__in=list(by_id)).order_by("tag__name")
                 .values_list("ticket_id", "tag__name"))
        for ticket_id, name in links:
            by_id[ticket_id].tag_names.append(name)
    return QueuePage(items=rows, next_cursor=next_cursor)


def queue_page(*, actor: User, queue: str, sort: str = "updated", cursor: str | None = None, limit: int = 50,
               token_scope: AccessLevel | None = None) -> QueuePage:
    qs = queue_filter(actor=actor, queue=queue, qs=visible_tickets(actor=actor, token_scope=token_scope))
    return ticket_page(actor=actor, qs=qs, sort=sort, cursor=cursor, limit=limit)


COUNT_CAP = 999  # sidebars show "999+": an exact count of a huge queue costs a scan on every page view


def capped_count(qs: QuerySet) -> int:
    """The number of rows, or COUNT_CAP + 1 when there are more (a bounded index scan, not a full count)."""
    return qs.order_by().values("pk")[: COUNT_CAP + 1].count()


def queue_counts(*, actor: User) -> dict[str, int]:
    base = visible_tickets(actor=actor)
    return {key: capped_count(queue_filter(actor=actor, queue=key, qs=base)) for key in QUEUES}


COUNTS_TTL_SECONDS = 10
COUNTS_GENERATION_KEY = "tickets:counts-generation"


def inbox_counts_invalidate() -> None:
    """Make every agent's cached sidebar counts stale: called whenever a ticket, a team or a membership
    changes (before commit too: a rolled-back change only costs one recount)."""
    cache.set(COUNTS_GENERATION_KEY, uuid.uuid4().hex, timeout=None)


def counts_cache_key(*, actor: User, views: list) -> str:
    """The cache key of an agent's sidebar counts: the agent, the current generation and the saved views."""
    generation = cache.get(COUNTS_GENERATION_KEY)
    if generation is None:
        generation = uuid.uuid4().hex
        cache.add(COUNTS_GENERATION_KEY, generation, timeout=None)
        generation = cache.get(COUNTS_GENERATION_KEY, generation)
    # Tickets saved by another process (another web process, the task worker) do not touch this process's
    # cache when it is per-process memory; the latest ticket change, read from an index, covers them.
    latest = Ticket.objects.aggregate(latest=Max("updated_at"))["latest"]
    signature = [(v.pk, v.filters, v.updated_at.isoformat() if v.updated_at else "") for v in views]
    digest = hashlib.sha256(json.dumps([actor.pk, actor.date_joined.isoformat(), actor.role, generation,
                                        latest.isoformat() if latest else "", signature],
                                       sort_keys=True, default=str).encode()).hexdigest()
    return f"tickets:counts:{actor.pk}:{digest}"


def tickets_of_customer(*, actor: User, customer_id: int, exclude_id: int | None = None, limit: int = 10
                        ) -> list[Ticket]:
    qs = visible_tickets(actor=actor).filter(requester_id=customer_id).select_related("status")
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return list(qs.order_by("-created_at")[:limit])
