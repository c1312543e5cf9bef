"""The actions of triggers, time rules and macros: checked when a rule is saved, applied through the tickets
services (one ``ticket_update`` for every field change, then notes, replies and notifications in order)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cx.accounts.models import Team, User
from cx.accounts.selectors import active_agent_get, is_team_member, team_get_for
from cx.core.audit import audit_record
from cx.core.errors import ValidationFailed
from cx.notifications.models import NotificationKind
from cx.notifications.services import notify_agent
from cx.tickets.models import Priority, StatusCategory, Ticket, TicketType, Visibility
from cx.tickets.selectors import status_list
from cx.tickets.services import default_status, ticket_reply, ticket_update

from . import selectors
from .conditions import CUSTOM_KINDS, Vocabulary
from .placeholders import render_placeholders, unknown_placeholders

MAX_ACTIONS = 20
MAX_TAGS = 30
MAX_TEMPLATE = 10_000
NOTIFY_ROLES = ("assignee", "followers", "team")

# type -> (keys it takes, what it does); shown in the editor's reference and the API docs.
ACTION_TYPES: dict[str, tuple[tuple[str, ...], str]] = {
    "set_status": (("status_id", "category"), "Set the status: a status_id, or a category for its default status"),
    "set_priority": (("priority",), "Set the priority"),
    "set_type": (("ticket_type",), "Set the ticket type"),
    "set_team": (("team_id",), "Move the ticket to a team (null: no team); an assignee outside it is unassigned"),
    "assign": (("assignee_id",), "Assign to an agent (null: unassign)"),
    "add_tags": (("tags",), "Add tags"),
    "remove_tags": (("tags",), "Remove tags"),
    "set_custom_field": (("key", "value"), "Set a custom field (null clears it)"),
    "add_internal_note": (("body",), "Add an internal note (placeholders allowed)"),
    "send_reply": (("body",), "Send a public reply to the requester (placeholders allowed)"),
    "notify": (("recipients", "message"),
               'Notify agents: recipients is a list of "assignee", "followers", "team" or agent ids'),
    "follow": (("agent_ids",), "Add agents as followers"),
}
MESSAGE_ACTIONS = ("add_internal_note", "send_reply", "notify")


def _normal_tag(tag: str) -> str:
    # The tickets service stores tags lower-case with dashes; rules compare in the same form.
    return "-".join(tag.strip().lower().split())


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _template_problem(value: Any, *, limit: int = MAX_TEMPLATE) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "non-empty text"
    if len(value) > limit:
        return f"at most {limit} characters"
    unknown = unknown_placeholders(value)
    if unknown:
        return f"unknown placeholder {{{{{unknown[0]}}}}}"
    return None


def _custom_value_problem(kind: str | None, options: list[str], value: Any) -> str | None:
    if value is None:
        return None
    if kind == "text":
        return None if isinstance(value, str) else "text"
    if kind == "choice":
        return None if value in options else f"one of {', '.join(options)}"
    if kind == "number":
        return None if isinstance(value, int | float) and not isinstance(value, bool) else "a number"
    if kind == "bool":
        return None if isinstance(value, bool) else "true or false"
    if kind == "date":
        try:
            date.fromisoformat(value if isinstance(value, str) else "")
        except ValueError:
            return "a date like 2026-11-23"
        return None
    return "not a valid value"


def _action_problems(action: dict[str, Any], path: str, vocabulary: Vocabulary) -> dict[str, str]:
    """Problems of one action keyed by path; empty when it can be stored."""
    kind = action.get("type")
    if kind not in ACTION_TYPES:
        return {f"{path}.type": f"one of {', '.join(ACTION_TYPES)}" if kind else "required"}
    keys = ACTION_TYPES[kind][0]
    extra = sorted(set(action) - {"type", *keys})
    if extra:
        return {f"{path}.{extra[0]}": f"unknown key for {kind} (use {', '.join(keys)})"}
    if kind == "set_status":
        if ("status_id" in action) == ("category" in action):
            return {f"{path}.status_id": "give either status_id or category"}
        if "category" in action:
            ok = action["category"] in StatusCategory.values
            return {} if ok else {f"{path}.category": f"one of {', '.join(StatusCategory.values)}"}
        known = _is_id(action["status_id"]) and status_list().filter(pk=action["status_id"]).exists()
        return {} if known else {f"{path}.status_id": "no such active status"}
    missing = [k for k in keys if k not in action]
    if missing:
        return {f"{path}.{missing[0]}": "required"}
    if kind == "set_priority" and action["priority"] not in Priority.values:
        return {f"{path}.priority": f"one of {', '.join(Priority.values)}"}
    if kind == "set_type" and action["ticket_type"] not in TicketType.values:
        return {f"{path}.ticket_type": f"one of {', '.join(TicketType.values)}"}
    if kind == "set_team" and action["team_id"] is not None and (
            not _is_id(action["team_id"]) or not _team_exists(action["team_id"])):
        return {f"{path}.team_id": "no such team"}
    if kind == "assign" and action["assignee_id"] is not None and (
            not _is_id(action["assignee_id"]) or active_agent_get(user_id=action["assignee_id"]) is None):
        return {f"{path}.assignee_id": "no such active agent"}
    if kind in ("add_tags", "remove_tags"):
        tags = action["tags"]
        if not isinstance(tags, list) or not tags or len(tags) > MAX_TAGS:
            return {f"{path}.tags": f"a list of 1 to {MAX_TAGS} tags"}
        if not all(isinstance(t, str) and _normal_tag(t) and len(_normal_tag(t)) <= 50 for t in tags):
            return {f"{path}.tags": "every tag must be a word of at most 50 characters"}
    if kind == "set_custom_field":
        definition = vocabulary.custom_fields.get(action["key"]) if isinstance(action["key"], str) else None
        if definition is None:
            return {f"{path}.key": "no active custom field with this key"}
        problem = _custom_value_problem(CUSTOM_KINDS.get(definition[0]), list(definition[1]), action["value"])
        if problem:
            return {f"{path}.value": problem}
    if kind in ("add_internal_note", "send_reply"):
        problem = _template_problem(action["body"])
        if problem:
            return {f"{path}.body": problem}
    if kind == "notify":
        recipients = action["recipients"]
        if not isinstance(recipients, list) or not recipients or not all(
                r in NOTIFY_ROLES or (_is_id(r) and active_agent_get(user_id=r) is not None) for r in recipients):
            return {f"{path}.recipients": 'a list of "assignee", "followers", "team" or active agent ids'}
        problem = _template_problem(action["message"], limit=2000)
        if problem:
            return {f"{path}.message": problem}
    if kind == "follow":
        ids = action["agent_ids"]
        if not isinstance(ids, list) or not ids or not all(
                _is_id(i) and active_agent_get(user_id=i) is not None for i in ids):
            return {f"{path}.agent_ids": "a list of active agent ids"}
    return {}


def _team_exists(team_id: int) -> bool:
    return Team.objects.filter(pk=team_id).exists()


def actions_validate(raw: Any, vocabulary: Vocabulary, *, path: str = "actions") -> list[dict[str, Any]]:
    """Return the actions in their stored form, or raise ValidationFailed naming every bad path."""
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed("A rule needs at least one action.", fields={path: "a non-empty list of actions"})
    if len(raw) > MAX_ACTIONS:
        raise ValidationFailed("Too many actions.", fields={path: f"at most {MAX_ACTIONS} actions"})
    errors: dict[str, str] = {}
    cleaned: list[dict[str, Any]] = []
    for index, action in enumerate(raw):
        item_path = f"{path}[{index}]"
        if not isinstance(action, dict):
            errors[item_path] = 'an object like {"type": "add_tags", "tags": ["vip"]}'
            continue
        problems = _action_problems(action, item_path, vocabulary)
        errors.update(problems)
        if not problems:
            action = dict(action)
            if action["type"] in ("add_tags", "remove_tags"):
                action["tags"] = list(dict.fromkeys(_normal_tag(t) for t in action["tags"]))
            cleaned.append(action)
    if errors:
        raise ValidationFailed("Some actions are invalid.", fields=errors)
    return cleaned


# --- Applying ---------------------------------------------------------------------------------------------


@dataclass
class AppliedActions:
    changes: dict[str, Any] = field(default_factory=dict)
    message_ids: list[int] = field(default_factory=list)
    notified_ids: list[int] = field(default_factory=list)


def _field_changes(ticket: Ticket, actions: list[dict[str, Any]]) -> dict[str, Any]:
    """Every field-setting action folded into one ``ticket_update`` change set (later actions win)."""
    changes: dict[str, Any] = {}
    current_tags = [t.name for t in ticket.tags.all()]
    tags = list(current_tags)
    custom: dict[str, Any] = {}
    followers = [f.pk for f in ticket.followers.all()]
    new_followers = list(followers)
    for action in actions:
        kind = action["type"]
        if kind == "set_status":
            changes["status_id"] = action["status_id"] if "status_id" in action \
                else default_status(action["category"]).pk
        elif kind == "set_priority":
            changes["priority"] = action["priority"]
        elif kind == "set_type":
            changes["ticket_type"] = action["ticket_type"]
        elif kind == "set_team":
            changes["team_id"] = action["team_id"]
        elif kind == "assign":
            changes["assignee_id"] = action["assignee_id"]
        elif kind == "add_tags":
            tags += [t for t in action["tags"] if t not in tags]
        elif kind == "remove_tags":
            tags = [t for t in tags if t not in action["tags"]]
        elif kind == "set_custom_field":
            custom[action["key"]] = action["value"]
        elif kind == "follow":
            new_followers += [i for i in action["agent_ids"] if i not in new_followers]
    if "team_id" in changes and "assignee_id" not in changes and ticket.assignee_id is not None \
            and changes["team_id"] is not None \
            and not is_team_member(user_id=ticket.assignee_id, team_id=changes["team_id"]):
        # Moving a ticket to a team the assignee is not in hands it to that team (as in Zendesk).
        changes["assignee_id"] = None
    if sorted(tags) != sorted(current_tags):
        changes["tags"] = tags
    if custom:
        changes["custom_fields"] = custom
    if sorted(new_followers) != sorted(followers):
        changes["follower_ids"] = new_followers
    # Nothing to write when the ticket already is what the actions ask for (no empty audit entries).
    for name, value in list(changes.items()):
        if name in ("status_id", "priority", "ticket_type", "team_id", "assignee_id") \
                and getattr(ticket, name) == value:
            del changes[name]
        if name == "custom_fields" and all((ticket.custom_fields or {}).get(k) == v for k, v in value.items()):
            del changes[name]
    return changes


def _recipients(ticket: Ticket, wanted: list[Any], actor: User) -> list[User]:
    people: dict[int, User] = {}
    for recipient in wanted:
        if recipient == "assignee" and ticket.assignee is not None:
            people[ticket.assignee.pk] = ticket.assignee
        elif recipient == "followers":
            people.update({f.pk: f for f in ticket.followers.all()})
        elif recipient == "team" and ticket.team is not None:
            team = team_get_for(actor=actor, team_id=ticket.team_id)
            people.update({m.user.pk: m.user for m in team.memberships.all()})
        elif _is_id(recipient):
            agent = active_agent_get(user_id=recipient)
            if agent is not None:
                people[agent.pk] = agent
    return [p for p in people.values() if p.is_active and p.pk != actor.pk]


def _notify(*, actor: User, ticket: Ticket, recipients: list[User], message: str) -> list[int]:
    """Tell agents about the ticket through the notifications app (in the app and by email, as each agent's
    preferences for automation notifications say); the audit log keeps who was told what."""
    title = _first_line(message) or f"Ticket #{ticket.pk}"
    told = [p.pk for p in recipients
            if notify_agent(recipient=p, kind=NotificationKind.AUTOMATION, title=f"#{ticket.pk}: {title}",
                            body=message, ticket_id=ticket.pk) is not None]
    audit_record(actor=actor, action="automation.notified", target_type="ticket", target_id=ticket.pk,
                 data={"recipient_ids": [p.pk for p in recipients], "notified_ids": told,
                       "message": message[:500]})
    return told


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def actions_apply(*, actor: User, ticket_id: int, actions: list[dict[str, Any]], agent: User | None,
                  automated: bool) -> AppliedActions:
    """Apply stored actions to a ticket as ``actor``. ``agent`` fills {{agent.*}} placeholders; for
    automations (``automated``) it is the assignee. Raises DomainError when the tickets services refuse a
    change (e.g. the team in a rule was deleted); callers roll back and record that."""
    result = AppliedActions()
    ticket = selectors.automation_ticket(ticket_id=ticket_id)
    if ticket is None:
        raise ValidationFailed("The ticket no longer exists.", fields={"ticket_id": "no such ticket"})
    changes = _field_changes(ticket, actions)
    if changes:
        ticket_update(actor=actor, ticket=ticket, changes=changes)
        result.changes = changes
    message_actions = [a for a in actions if a["type"] in MESSAGE_ACTIONS]
    if not message_actions:
        return result
    ticket = selectors.automation_ticket(ticket_id=ticket_id)
    values = selectors.placeholder_values(ticket=ticket, agent=ticket.assignee if automated else agent)
    for action in message_actions:
        if action["type"] == "add_internal_note":
            note = ticket_reply(actor=actor, ticket=ticket, body=render_placeholders(action["body"], values),
                                visibility=Visibility.INTERNAL)
            result.message_ids.append(note.pk)
        elif action["type"] == "send_reply":
            result.message_ids.append(_send_reply(actor=actor, ticket=ticket, automated=automated,
                                                  body=render_placeholders(action["body"], values)))
        else:
            recipients = _recipients(ticket, action["recipients"], actor)
            if recipients:
                result.notified_ids += _notify(actor=actor, ticket=ticket, recipients=recipients,
                                               message=render_placeholders(action["message"], values))
    return result


def _send_reply(*, actor: User, ticket: Ticket, body: str, automated: bool) -> int:
    # An automated answer is not a first response and must not take the ticket (see ticket_reply).
    message = ticket_reply(actor=actor, ticket=ticket, body=body, visibility=Visibility.PUBLIC, automated=automated)
    return message.pk
