"""Writes for tickets: create, update, reply, customer reply, merge and split.

Every function is one atomic action that records its audit event and writes the customer's touchpoint
(stage ``support``); realtime pushes go out after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from cx.accounts.models import AccessLevel, Team, User
from cx.accounts.selectors import active_agent_get, is_team_member
from cx.accounts.services import require_access
from cx.core.audit import audit_record
from cx.core.errors import Conflict, NotFound, ValidationFailed
from cx.customers.models import Customer
from cx.journeys.services import touchpoint_record
from cx.tickets.events import ticket_changed_on_commit
from cx.tickets.fields import InvalidFieldValue, clean_custom_value
from cx.tickets.hooks import notify_ticket_change
from cx.tickets.models import (
    Attachment,
    AuthorType,
    Channel,
    CustomField,
    Message,
    Priority,
    StatusCategory,
    Tag,
    Ticket,
    TicketStatus,
    TicketType,
    Visibility,
)

MAX_BODY = 100_000
MAX_SUBJECT = 250
MAX_TAGS = 30
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
MAX_ATTACHMENTS = 10
UPDATABLE_FIELDS = {"subject", "status_id", "priority", "ticket_type", "assignee_id", "team_id", "tags",
                    "custom_fields", "due_at", "follower_ids"}

# Which touchpoint kind a move into a status category writes on the customer's timeline.
_CATEGORY_TOUCHPOINT = {StatusCategory.SOLVED: "ticket.solved", StatusCategory.CLOSED: "ticket.closed"}


DEFAULT_STATUSES = (("New", "new", 10), ("Open", "open", 20), ("Pending", "pending", 30),
                    ("On hold", "on_hold", 40), ("Solved", "solved", 50), ("Closed", "closed", 60))


def ticket_statuses_ensure_defaults() -> None:
    """Create the built-in statuses when missing (migration 0002 does this for new databases; this restores
    them after a database flush, e.g. between browser tests)."""
    for name, category, position in DEFAULT_STATUSES:
        TicketStatus.objects.get_or_create(
            name=name, defaults={"category": category, "position": position,
                                 "is_default": not TicketStatus.objects.filter(category=category,
                                                                               is_default=True).exists()})


def default_status(category: str) -> TicketStatus:
    status = TicketStatus.objects.filter(category=category, is_default=True, is_active=True).first()
    if status is None:
        status = TicketStatus.objects.filter(category=category, is_active=True).order_by("position").first()
    if status is None:
        raise Conflict(f"No active status in category {category}; an admin must add one.")
    return status


def _touchpoint(ticket: Ticket, kind: str, properties: dict[str, Any] | None = None,
                channel: str | None = None) -> None:
    touchpoint_record(
        customer=ticket.requester,
        kind=kind,
        channel=channel or ticket.channel,
        stage="support",
        occurred_at=timezone.now(),
        properties={"ticket_id": ticket.pk, "subject": ticket.subject[:120], **(properties or {})},
        source="tickets",
    )


def _clean_body(body: str) -> str:
    if not isinstance(body, str) or not body.strip():
        raise ValidationFailed("The message is empty.", fields={"body": "required"})
    if len(body) > MAX_BODY:
        raise ValidationFailed("The message is too long.", fields={"body": f"at most {MAX_BODY} characters"})
    return body.strip()


def _clean_subject(subject: str) -> str:
    if not isinstance(subject, str) or not subject.strip():
        raise ValidationFailed("A ticket needs a subject.", fields={"subject": "required"})
    subject = " ".join(subject.split())
    if len(subject) > MAX_SUBJECT:
        raise ValidationFailed("The subject is too long.", fields={"subject": f"at most {MAX_SUBJECT} characters"})
    return subject


def _clean_tags(tags: Any) -> list[str]:
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValidationFailed("Tags must be a list of words.", fields={"tags": "a list of strings"})
    cleaned = []
    for tag in tags:
        name = "-".join(tag.strip().lower().split())
        if not name:
            continue
        if len(name) > 50:
            raise ValidationFailed("A tag is too long.", fields={"tags": f"{name[:20]}… is over 50 characters"})
        if name not in cleaned:
            cleaned.append(name)
    if len(cleaned) > MAX_TAGS:
        raise ValidationFailed("Too many tags.", fields={"tags": f"at most {MAX_TAGS}"})
    return cleaned


def _clean_custom_fields(values: Any, current: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise ValidationFailed("Custom fields must be an object.", fields={"custom_fields": "an object"})
    definitions = {f.key: f for f in CustomField.objects.filter(is_active=True)}
    merged = dict(current)
    errors: dict[str, str] = {}
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None:
            errors[f"custom_fields.{key}"] = "unknown custom field"
            continue
        try:
            cleaned = clean_custom_value(definition.field_type, definition.options, value)
        except InvalidFieldValue as exc:
            errors[f"custom_fields.{key}"] = str(exc)
            continue
        if cleaned is None:
            merged.pop(key, None)
        else:
            merged[key] = cleaned
    if errors:
        raise ValidationFailed("Some custom fields are invalid.", fields=errors)
    return merged


def _missing_on_solve(custom_fields: dict[str, Any]) -> dict[str, str]:
    required = CustomField.objects.filter(is_active=True, required_on_solve=True)
    return {f"custom_fields.{f.key}": f"{f.label} is required to solve" for f in required
            if custom_fields.get(f.key) in (None, "")}


def _status(status_id: Any) -> TicketStatus:
    status = TicketStatus.objects.filter(pk=status_id, is_active=True).first() if isinstance(status_id, int) else None
    if status is None:
        raise ValidationFailed("Unknown status.", fields={"status_id": "no such active status"})
    return status


def _team(team_id: Any) -> Team | None:
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id).first() if isinstance(team_id, int) else None
    if team is None:
        raise ValidationFailed("Unknown team.", fields={"team_id": "no such team"})
    return team


def _assignee(assignee_id: Any, team: Team | None) -> User | None:
    if assignee_id is None:
        return None
    agent = active_agent_get(user_id=assignee_id) if isinstance(assignee_id, int) else None
    if agent is None:
        raise ValidationFailed("Unknown agent.", fields={"assignee_id": "no such active agent"})
    if team is not None and not is_team_member(user_id=agent.pk, team_id=team.pk):
        raise ValidationFailed("The agent is not in the ticket's team.",
                               fields={"assignee_id": f"{agent.username} is not a member of {team.name}"})
    return agent


def _enter_category(ticket: Ticket, status: TicketStatus, now: datetime) -> str | None:
    """Move the ticket to a status and keep the lifecycle timestamps right; returns a touchpoint kind."""
    old = ticket.status_category
    ticket.status = status
    ticket.status_category = status.category
    new = status.category
    if old == new:
        return None
    if new == StatusCategory.SOLVED:
        ticket.solved_at = now
    if new == StatusCategory.CLOSED:
        ticket.closed_at = now
        ticket.solved_at = ticket.solved_at or now
    if old in (StatusCategory.SOLVED, StatusCategory.CLOSED) and new not in (StatusCategory.SOLVED,
                                                                             StatusCategory.CLOSED):
        ticket.solved_at = None
        ticket.closed_at = None
        return "ticket.reopened"
    return _CATEGORY_TOUCHPOINT.get(new)


def _store_attachments(message: Message, files: list[UploadedFile]) -> list[Attachment]:
    stored = []
    for upload in files:
        attachment = Attachment(message=message, filename=upload.name[:255],
                                content_type=(upload.content_type or "application/octet-stream")[:100],
                                size=upload.size)
        attachment.file.save(upload.name[:100], upload, save=False)
        attachment.save()
        stored.append(attachment)
    return stored


def _check_attachments(files: list[UploadedFile]) -> None:
    if len(files) > MAX_ATTACHMENTS:
        raise ValidationFailed("Too many attachments.", fields={"attachments": f"at most {MAX_ATTACHMENTS}"})
    for upload in files:
        if upload.size > MAX_ATTACHMENT_BYTES:
            raise ValidationFailed("An attachment is too large.",
                                   fields={"attachments": f"{upload.name} is over {MAX_ATTACHMENT_BYTES // 2**20} MB"})


@dataclass(frozen=True)
class NewTicket:
    ticket: Ticket
    message: Message


@transaction.atomic
def ticket_open_by_customer(
    *,
    requester: Customer,
    subject: str,
    body: str,
    channel: str,
    body_html: str = "",
    external_id: str = "",
    ccs: list[Customer] | None = None,
    priority: str = Priority.NORMAL,
    attachments: list[UploadedFile] | None = None,
) -> NewTicket:
    """A customer opens a ticket on a channel (email, web form, chat, portal...). No agent is involved."""
    if channel not in Channel.values:
        raise ValidationFailed("Unknown channel.", fields={"channel": f"one of {', '.join(Channel.values)}"})
    if requester.merged_into_id is not None:
        requester = Customer.objects.get(pk=requester.merged_into_id)
    subject = _clean_subject(subject)
    body = _clean_body(body)
    files = attachments or []
    _check_attachments(files)
    now = timezone.now()
    ticket = Ticket.objects.create(
        subject=subject, requester=requester, organization=requester.organization, channel=channel,
        status=default_status(StatusCategory.NEW), status_category=StatusCategory.NEW, priority=priority,
        last_customer_message_at=now, language=requester.language,
    )
    if ccs:
        ticket.ccs.set([c for c in ccs if c.pk != requester.pk])
    message = Message.objects.create(ticket=ticket, author_type=AuthorType.CUSTOMER, author_customer=requester,
                                     channel=channel, body_text=body, body_html=body_html,
                                     external_id=external_id[:255])
    _store_attachments(message, files)
    audit_record(actor=None, action="ticket.created", target_type="ticket", target_id=ticket.pk,
                 data={"channel": channel, "requester_id": requester.pk})
    _touchpoint(ticket, "ticket.created")
    ticket_changed_on_commit(ticket=ticket, change="created")
    notify_ticket_change(ticket_id=ticket.pk, event="created", actor_id=None, message_id=message.pk)
    return NewTicket(ticket=ticket, message=message)


@transaction.atomic
def ticket_create_by_agent(
    *,
    actor: User,
    requester: Customer,
    subject: str,
    body: str,
    visibility: str = Visibility.PUBLIC,
    channel: str = Channel.AGENT,
    priority: str = Priority.NORMAL,
    ticket_type: str = TicketType.QUESTION,
    tags: list[str] | None = None,
    team_id: int | None = None,
    assignee_id: int | None = None,
    custom_fields: dict[str, Any] | None = None,
    attachments: list[UploadedFile] | None = None,
    token_scope: AccessLevel | None = None,
) -> NewTicket:
    """An agent opens a ticket for a customer (a phone call, an outbound message)."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    if requester.merged_into_id is not None or requester.erased_at is not None:
        raise ValidationFailed("The requester was merged or erased.", fields={"requester_id": "not a live customer"})
    errors: dict[str, str] = {}
    if channel not in Channel.values:
        errors["channel"] = f"one of {', '.join(Channel.values)}"
    if priority not in Priority.values:
        errors["priority"] = f"one of {', '.join(Priority.values)}"
    if ticket_type not in TicketType.values:
        errors["ticket_type"] = f"one of {', '.join(TicketType.values)}"
    if visibility not in Visibility.values:
        errors["visibility"] = f"one of {', '.join(Visibility.values)}"
    if errors:
        raise ValidationFailed("Some fields are invalid.", fields=errors)
    subject = _clean_subject(subject)
    body = _clean_body(body)
    files = attachments or []
    _check_attachments(files)
    team = _team(team_id)
    assignee = _assignee(assignee_id, team)
    fields = _clean_custom_fields(custom_fields or {}, {})
    tag_names = _clean_tags(tags or [])
    category = StatusCategory.OPEN if assignee else StatusCategory.NEW
    now = timezone.now()
    ticket = Ticket.objects.create(
        subject=subject, requester=requester, organization=requester.organization, channel=channel,
        status=default_status(category), status_category=category, priority=priority, ticket_type=ticket_type,
        team=team, assignee=assignee, custom_fields=fields, language=requester.language,
        first_response_at=now if visibility == Visibility.PUBLIC else None,
        last_agent_reply_at=now if visibility == Visibility.PUBLIC else None,
    )
    _set_tags(ticket, tag_names)
    message = Message.objects.create(ticket=ticket, visibility=visibility, author_type=AuthorType.AGENT,
                                     author_agent=actor, channel=channel, body_text=body)
    _store_attachments(message, files)
    audit_record(actor=actor, action="ticket.created", target_type="ticket", target_id=ticket.pk,
                 data={"channel": channel, "requester_id": requester.pk})
    _touchpoint(ticket, "ticket.created")
    ticket_changed_on_commit(ticket=ticket, change="created")
    notify_ticket_change(ticket_id=ticket.pk, event="created", actor_id=actor.pk, message_id=message.pk)
    return NewTicket(ticket=ticket, message=message)


def _set_tags(ticket: Ticket, names: list[str]) -> None:
    tags = []
    for name in names:
        tag, _ = Tag.objects.get_or_create(name=name)
        tags.append(tag)
    ticket.tags.set(tags)


def _lock(ticket: Ticket) -> Ticket:
    # of=("self",): PostgreSQL cannot lock the nullable side of the outer join to team.
    return (Ticket.objects.select_for_update(of=("self",)).select_related("status", "requester", "team")
            .get(pk=ticket.pk))


@transaction.atomic
def ticket_update(*, actor: User, ticket: Ticket, changes: dict[str, Any],
                  token_scope: AccessLevel | None = None) -> Ticket:
    """Change ticket properties. Everything is validated before anything is written."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise ValidationFailed("Unknown fields.", fields=dict.fromkeys(sorted(unknown), "unknown field"))
    ticket = _lock(ticket)
    if ticket.merged_into_id is not None:
        raise Conflict(f"Ticket {ticket.pk} was merged into ticket {ticket.merged_into_id}.")
    now = timezone.now()
    audit: dict[str, list[Any]] = {}
    errors: dict[str, str] = {}

    new_team = ticket.team
    if "team_id" in changes:
        new_team = _team(changes["team_id"])
    new_assignee = ticket.assignee
    if "assignee_id" in changes:
        new_assignee = _assignee(changes["assignee_id"], new_team)
    elif "team_id" in changes and new_assignee is not None and new_team is not None \
            and not is_team_member(user_id=new_assignee.pk, team_id=new_team.pk):
        errors["assignee_id"] = f"{new_assignee.username} is not a member of {new_team.name}"
    new_status = ticket.status
    if "status_id" in changes:
        new_status = _status(changes["status_id"])
    elif new_assignee is not None and ticket.status_category == StatusCategory.NEW:
        new_status = default_status(StatusCategory.OPEN)  # assigning a new ticket opens it
    if "priority" in changes and changes["priority"] not in Priority.values:
        errors["priority"] = f"one of {', '.join(Priority.values)}"
    if "ticket_type" in changes and changes["ticket_type"] not in TicketType.values:
        errors["ticket_type"] = f"one of {', '.join(TicketType.values)}"
    if "due_at" in changes and changes["due_at"] is not None and (
            not isinstance(changes["due_at"], datetime) or timezone.is_naive(changes["due_at"])):
        errors["due_at"] = "a time-zone-aware date and time"
    if errors:
        raise ValidationFailed("Some fields are invalid.", fields=errors)
    subject = _clean_subject(changes["subject"]) if "subject" in changes else ticket.subject
    tags = _clean_tags(changes["tags"]) if "tags" in changes else None
    custom = _clean_custom_fields(changes["custom_fields"], ticket.custom_fields) \
        if "custom_fields" in changes else ticket.custom_fields
    followers: list[User] | None = None
    if "follower_ids" in changes:
        ids = changes["follower_ids"]
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise ValidationFailed("Followers must be a list of agent ids.", fields={"follower_ids": "list of ids"})
        followers = [agent for i in ids if (agent := active_agent_get(user_id=i)) is not None]
        if len(followers) != len(set(ids)):
            raise ValidationFailed("Unknown follower.", fields={"follower_ids": "every id must be an active agent"})
    if new_status.category in (StatusCategory.SOLVED, StatusCategory.CLOSED):
        missing = _missing_on_solve(custom)
        if missing:
            raise ValidationFailed("Fill in the required fields before solving.", fields=missing)

    # Everything is valid: apply.
    if subject != ticket.subject:
        audit["subject"] = [ticket.subject, subject]
        ticket.subject = subject
    if new_team != ticket.team:
        audit["team_id"] = [ticket.team_id, new_team.pk if new_team else None]
        ticket.team = new_team
    if new_assignee != ticket.assignee:
        audit["assignee_id"] = [ticket.assignee_id, new_assignee.pk if new_assignee else None]
        ticket.assignee = new_assignee
    for name in ("priority", "ticket_type", "due_at"):
        if name in changes and getattr(ticket, name) != changes[name]:
            old = getattr(ticket, name)
            audit[name] = [old.isoformat() if isinstance(old, datetime) else old,
                           changes[name].isoformat() if isinstance(changes[name], datetime) else changes[name]]
            setattr(ticket, name, changes[name])
    if custom != ticket.custom_fields:
        audit["custom_fields"] = [ticket.custom_fields, custom]
        ticket.custom_fields = custom
    touchpoint_kind = None
    if new_status.pk != ticket.status_id:
        audit["status"] = [ticket.status.name, new_status.name]
        touchpoint_kind = _enter_category(ticket, new_status, now)
    saved = bool(audit)
    if saved:
        ticket.save()  # only a real change moves updated_at (and the ticket's place in queues)
    if tags is not None:
        old_tags = sorted(ticket.tags.values_list("name", flat=True))
        if sorted(tags) != old_tags:
            audit["tags"] = [old_tags, sorted(tags)]
            _set_tags(ticket, tags)
    if followers is not None:
        old_ids = sorted(ticket.followers.values_list("pk", flat=True))
        if sorted(f.pk for f in followers) != old_ids:
            audit["follower_ids"] = [old_ids, sorted(f.pk for f in followers)]
            ticket.followers.set(followers)
    if audit:
        if not saved:
            ticket.save(update_fields=["updated_at"])
        audit_record(actor=actor, action="ticket.updated", target_type="ticket", target_id=ticket.pk,
                     data={"changes": audit})
        if touchpoint_kind:
            _touchpoint(ticket, touchpoint_kind, {"status": new_status.name})
        ticket_changed_on_commit(ticket=ticket, change="updated")
        notify_ticket_change(ticket_id=ticket.pk, event="updated", actor_id=actor.pk, changes=audit)
    return ticket


@transaction.atomic
def ticket_reply(*, actor: User, ticket: Ticket, body: str, visibility: str = Visibility.PUBLIC,
                 status_id: int | None = None, body_html: str = "", attachments: list[UploadedFile] | None = None,
                 token_scope: AccessLevel | None = None, automated: bool = False) -> Message:
    """An agent answers publicly or leaves an internal note, optionally changing the status at once.

    ``automated`` replies (automations, acknowledgements) are authored by the system: they are not a first
    response, do not open a new ticket and do not take an unassigned one."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    if visibility not in Visibility.values:
        raise ValidationFailed("Unknown visibility.", fields={"visibility": "public or internal"})
    body = _clean_body(body)
    files = attachments or []
    _check_attachments(files)
    ticket = _lock(ticket)
    if ticket.merged_into_id is not None:
        raise Conflict(f"Ticket {ticket.pk} was merged into ticket {ticket.merged_into_id}; reply there.")
    new_status = _status(status_id) if status_id is not None else None
    if new_status and new_status.category in (StatusCategory.SOLVED, StatusCategory.CLOSED):
        missing = _missing_on_solve(ticket.custom_fields)
        if missing:
            raise ValidationFailed("Fill in the required fields before solving.", fields=missing)
    now = timezone.now()
    public = visibility == Visibility.PUBLIC
    message = Message.objects.create(
        ticket=ticket, visibility=visibility, author_type=AuthorType.SYSTEM if automated else AuthorType.AGENT,
        author_agent=actor, channel=ticket.channel, body_text=body, body_html=body_html,
        delivery_status="queued" if public and ticket.channel not in (Channel.AGENT, Channel.API) else "",
    )
    _store_attachments(message, files)
    update_fields = ["updated_at"]
    if public and not automated:
        if ticket.first_response_at is None:
            ticket.first_response_at = now
            update_fields.append("first_response_at")
        ticket.last_agent_reply_at = now
        update_fields.append("last_agent_reply_at")
    if new_status is None and public and not automated and ticket.status_category == StatusCategory.NEW:
        new_status = default_status(StatusCategory.OPEN)
    touchpoint_kind = None
    status_change: dict[str, list[Any]] = {}
    if new_status is not None and new_status.pk != ticket.status_id:
        old_name = ticket.status.name
        status_change = {"status": [old_name, new_status.name]}
        touchpoint_kind = _enter_category(ticket, new_status, now)
        update_fields += ["status", "status_category", "solved_at", "closed_at"]
        audit_record(actor=actor, action="ticket.updated", target_type="ticket", target_id=ticket.pk,
                     data={"changes": {"status": [old_name, new_status.name]}})
    if ticket.assignee_id is None and public and not automated:
        ticket.assignee = actor  # answering an unassigned ticket takes it, so nobody else answers twice
        update_fields.append("assignee")
    ticket.save(update_fields=update_fields)
    audit_record(actor=actor, action="ticket.replied" if public else "ticket.noted", target_type="ticket",
                 target_id=ticket.pk, data={"message_id": message.pk})
    if public:
        _touchpoint(ticket, "ticket.auto_replied" if automated else "ticket.agent_replied", {"message_id": message.pk})
    if touchpoint_kind:
        _touchpoint(ticket, touchpoint_kind, {"status": ticket.status.name})
    ticket_changed_on_commit(ticket=ticket, change="replied" if public else "noted")
    notify_ticket_change(ticket_id=ticket.pk, event="replied" if public else "noted", actor_id=actor.pk,
                         changes=status_change, message_id=message.pk)
    return message


@transaction.atomic
def ticket_customer_reply(*, ticket: Ticket, customer: Customer, body: str, channel: str, body_html: str = "",
                          external_id: str = "", attachments: list[UploadedFile] | None = None,
                          deferred: bool = False) -> Message:
    """The customer writes again. A merged ticket forwards to its survivor; a solved one reopens; a closed
    one starts a follow-up ticket (closed tickets stay closed, as in Zendesk).

    ``deferred`` (live chat): the message, the ticket's status and the agents' live update are written now;
    the touchpoints and the ticket observers (SLA, notifications, routing, webhooks, automations) run after
    commit on the task queue, in order (see cx/tickets/hooks.py)."""
    body = _clean_body(body)
    files = attachments or []
    _check_attachments(files)
    ticket = _lock(ticket)
    hops = 0
    while ticket.merged_into_id is not None and hops < 10:
        ticket = _lock(Ticket(pk=ticket.merged_into_id))
        hops += 1
    if ticket.status_category == StatusCategory.CLOSED:
        follow_up = ticket_open_by_customer(requester=customer, subject=f"Follow-up: {ticket.subject}"[:MAX_SUBJECT],
                                            body=body, channel=channel, body_html=body_html,
                                            external_id=external_id, attachments=files)
        Message.objects.create(ticket=follow_up.ticket, visibility=Visibility.INTERNAL,
                               author_type=AuthorType.SYSTEM, channel=channel,
                               body_text=f"Follow-up to closed ticket #{ticket.pk}.")
        return follow_up.message
    now = timezone.now()
    message = Message.objects.create(ticket=ticket, author_type=AuthorType.CUSTOMER, author_customer=customer,
                                     channel=channel, body_text=body, body_html=body_html,
                                     external_id=external_id[:255])
    _store_attachments(message, files)
    ticket.last_customer_message_at = now
    touchpoint_kind = None
    status_change: dict[str, list[Any]] = {}
    if ticket.status_category in (StatusCategory.PENDING, StatusCategory.SOLVED, StatusCategory.ON_HOLD):
        old_name = ticket.status.name
        touchpoint_kind = _enter_category(ticket, default_status(StatusCategory.OPEN), now)
        status_change = {"status": [old_name, ticket.status.name]}
        audit_record(actor=None, action="ticket.updated", target_type="ticket", target_id=ticket.pk,
                     data={"changes": status_change, "reason": "customer replied"})
    if status_change:
        ticket.save()
    else:  # only the customer's last message time changed
        Ticket.objects.filter(pk=ticket.pk).update(last_customer_message_at=now, updated_at=now)
    touchpoints = [{"kind": "ticket.customer_replied", "channel": channel, "properties": {"message_id": message.pk}}]
    if touchpoint_kind:
        touchpoints.append({"kind": touchpoint_kind, "channel": channel, "properties": {"status": ticket.status.name}})
    if not deferred:
        for touchpoint in touchpoints:
            _touchpoint(ticket, touchpoint["kind"], touchpoint["properties"], channel=channel)
    ticket_changed_on_commit(ticket=ticket, change="customer_replied")
    notify_ticket_change(ticket_id=ticket.pk, event="customer_replied", actor_id=None, changes=status_change,
                         message_id=message.pk, deferred=deferred, touchpoints=touchpoints if deferred else None)
    return message


@transaction.atomic
def ticket_merge(*, actor: User, source: Ticket, target: Ticket, token_scope: AccessLevel | None = None) -> Ticket:
    """Move the source's conversation into the target and close the source as a pointer to it."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    if source.pk == target.pk:
        raise ValidationFailed("A ticket cannot be merged into itself.", fields={"source_id": "same as target"})
    locked = {t.pk: t for t in Ticket.objects.select_for_update().filter(pk__in=[source.pk, target.pk])
              .order_by("pk")}
    if len(locked) != 2:
        raise NotFound("No such ticket.")
    source, target = locked[source.pk], locked[target.pk]
    for t in (source, target):
        if t.merged_into_id is not None:
            raise Conflict(f"Ticket {t.pk} was already merged into ticket {t.merged_into_id}.")
    moved = list(source.messages.values_list("pk", flat=True))
    source.messages.update(ticket=target)
    target.ccs.add(*source.ccs.all())
    target.followers.add(*source.followers.all())
    if source.requester_id != target.requester_id:
        target.ccs.add(source.requester)
    now = timezone.now()
    Message.objects.create(ticket=target, visibility=Visibility.INTERNAL, author_type=AuthorType.SYSTEM,
                           channel=target.channel, body_text=f"Ticket #{source.pk} ({source.subject}) was merged "
                                                             f"into this ticket by {actor.display_name}.")
    Message.objects.create(ticket=source, visibility=Visibility.INTERNAL, author_type=AuthorType.SYSTEM,
                           channel=source.channel, body_text=f"Merged into ticket #{target.pk}.")
    source.merged_into = target
    _enter_category(source, default_status(StatusCategory.CLOSED), now)
    source.save()
    target.save(update_fields=["updated_at"])
    audit_record(actor=actor, action="ticket.merged", target_type="ticket", target_id=target.pk,
                 data={"source_id": source.pk, "moved_message_ids": moved})
    audit_record(actor=actor, action="ticket.merged_away", target_type="ticket", target_id=source.pk,
                 data={"target_id": target.pk})
    ticket_changed_on_commit(ticket=source, change="merged")
    ticket_changed_on_commit(ticket=target, change="updated")
    notify_ticket_change(ticket_id=source.pk, event="merged", actor_id=actor.pk,
                         changes={"merged_into": [None, target.pk]})
    notify_ticket_change(ticket_id=target.pk, event="updated", actor_id=actor.pk,
                         changes={"merged_from": [None, source.pk]})
    return target


@transaction.atomic
def message_split(*, actor: User, message: Message, token_scope: AccessLevel | None = None) -> Ticket:
    """Move one customer message out into a new ticket (the customer asked two things at once)."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    message = Message.objects.select_for_update().select_related("ticket", "ticket__requester").get(pk=message.pk)
    original = message.ticket
    if original.messages.count() < 2:
        raise ValidationFailed("The ticket has only this message.", fields={"message_id": "nothing to split from"})
    if message.author_type != AuthorType.CUSTOMER:
        raise ValidationFailed("Only a customer's message can start a new ticket.",
                               fields={"message_id": "not a customer message"})
    first_line = message.body_text.strip().splitlines()[0] if message.body_text.strip() else original.subject
    ticket = Ticket.objects.create(
        subject=_clean_subject(f"{first_line[:200]}"), requester=original.requester,
        organization=original.organization, channel=message.channel,
        status=default_status(StatusCategory.NEW), status_category=StatusCategory.NEW,
        priority=original.priority, team=original.team, last_customer_message_at=message.created_at,
    )
    message.ticket = ticket
    message.save(update_fields=["ticket"])
    Message.objects.create(ticket=ticket, visibility=Visibility.INTERNAL, author_type=AuthorType.SYSTEM,
                           channel=ticket.channel,
                           body_text=f"Split from ticket #{original.pk} by {actor.display_name}.")
    Message.objects.create(ticket=original, visibility=Visibility.INTERNAL, author_type=AuthorType.SYSTEM,
                           channel=original.channel, body_text=f"A message was split out into ticket #{ticket.pk}.")
    audit_record(actor=actor, action="ticket.split", target_type="ticket", target_id=original.pk,
                 data={"message_id": message.pk, "new_ticket_id": ticket.pk})
    audit_record(actor=actor, action="ticket.created", target_type="ticket", target_id=ticket.pk,
                 data={"split_from": original.pk})
    _touchpoint(ticket, "ticket.created", {"split_from": original.pk})
    ticket_changed_on_commit(ticket=ticket, change="created")
    ticket_changed_on_commit(ticket=original, change="updated")
    notify_ticket_change(ticket_id=ticket.pk, event="created", actor_id=actor.pk, message_id=message.pk)
    return ticket


class TicketDataHandler:
    """Lets customer merge, export and erasure reach tickets and their messages."""

    name = "tickets"

    def export(self, *, customer_id: int) -> list[dict]:
        tickets = Ticket.objects.filter(requester_id=customer_id).select_related("status").prefetch_related(
            "messages").order_by("created_at")
        return [
            {
                "id": t.pk, "subject": t.subject, "status": t.status.name, "channel": t.channel,
                "priority": t.priority, "created_at": t.created_at.isoformat(),
                "solved_at": t.solved_at.isoformat() if t.solved_at else None,
                "messages": [
                    {"id": m.pk, "author_type": m.author_type, "visibility": m.visibility, "channel": m.channel,
                     "body_text": m.body_text, "created_at": m.created_at.isoformat()}
                    for m in t.messages.all() if m.visibility == Visibility.PUBLIC
                ],
            }
            for t in tickets
        ]

    def reassign(self, *, source_id: int, target_id: int) -> list[int]:
        ids = list(Ticket.objects.filter(requester_id=source_id).values_list("pk", flat=True))
        Ticket.objects.filter(pk__in=ids).update(requester_id=target_id)
        Message.objects.filter(author_customer_id=source_id).update(author_customer_id=target_id)
        return ids

    def erase(self, *, customer_id: int) -> int:
        # Status, channel, priority and timestamps stay for service metrics; the words go.
        ids = list(Ticket.objects.filter(requester_id=customer_id).values_list("pk", flat=True))
        Ticket.objects.filter(pk__in=ids).update(subject="[erased]", custom_fields={})
        for attachment in Attachment.objects.filter(message__ticket_id__in=ids):
            attachment.file.delete(save=False)
        Attachment.objects.filter(message__ticket_id__in=ids).delete()
        Message.objects.filter(ticket_id__in=ids).update(body_text="[erased]", body_html="", external_id="")
        Message.objects.filter(author_customer_id=customer_id).update(body_text="[erased]", body_html="")
        return len(ids)
