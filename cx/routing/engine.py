"""The routing engine: gives new tickets a team and an agent, and re-offers waiting tickets when an agent
comes online or has room again (the Chatwoot #5672 / #10583 failure modes: never round-robin to offline
agents, never leave tickets unassigned once someone could take them).

Concurrency: a team's round-robin cursor row is locked while its next agent is picked (routing in one team
is serialised), and the chosen agent's profile row is locked (skipping agents another transaction is
routing to right now) before their load is counted again, so capacity holds across teams and processes.

It acts through ``cx.tickets.services.ticket_update`` as the ``cxdesk-routing`` account, so every routed
assignment is in the audit trail like a person's, and inside ``acting_automation`` so automations see the
change as automated. Its own changes come back to its observer; a context flag ignores them (no re-entry).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from cx.accounts.models import AgentStatus, User
from cx.accounts.selectors import team_ids_of
from cx.accounts.services import system_user_get
from cx.routing import registry, selectors
from cx.routing.matching import RuleSpec, TicketFacts, candidate_order, eligible, first_matching_rule
from cx.routing.models import AgentRoutingProfile, RoundRobinCursor, RoutingMethod
from cx.tickets.hooks import TicketChange, acting_automation
from cx.tickets.models import UNRESOLVED_CATEGORIES, Ticket
from cx.tickets.services import ticket_update

logger = logging.getLogger("cx.routing")

REOFFER_PAGE = 200
REOFFER_MAX_TICKETS = 2000  # per run; the periodic job continues with the rest a minute later
# Ticket changes after which an unassigned ticket is (re)considered for routing.
_ROUTING_FIELDS = {"team_id", "tags", "priority", "assignee_id", "status"}

_routing_active: contextvars.ContextVar[bool] = contextvars.ContextVar("cx_routing_active", default=False)
T = TypeVar("T")


def routing_actor() -> User:
    """The system account routed assignments are made by (audited, never itself routed a ticket)."""
    return system_user_get(username=selectors.SYSTEM_USERNAME, label="Automatic routing")


def _as_routing(work: Callable[..., T], **kwargs: Any) -> T:
    """Run routing work in a savepoint, marked as routing (its own changes are ignored when they come back
    through the hooks) and as an automation (so automations' loop protection counts it)."""
    token = _routing_active.set(True)
    try:
        with transaction.atomic(), acting_automation():
            return work(**kwargs)
    finally:
        _routing_active.reset(token)


def _guarded(work: Callable[..., T], **kwargs: Any) -> T | None:
    """Routing triggered by someone's change: a failure is logged and rolled back to the savepoint, and never
    undoes the ticket or status change that triggered it (the periodic job tries again later)."""
    try:
        return _as_routing(work, **kwargs)
    except Exception:
        logger.exception("routing failed in %s", getattr(work, "__name__", work))
        return None


# --- Picking an agent -----------------------------------------------------------------------------------

def _lock_cursor(team_id: int) -> RoundRobinCursor:
    RoundRobinCursor.objects.get_or_create(team_id=team_id)
    return RoundRobinCursor.objects.select_for_update().get(team_id=team_id)


def _lock_profile(user_id: int) -> AgentRoutingProfile | None:
    """The agent's profile, locked; None when another transaction is routing to them right now (skip)."""
    AgentRoutingProfile.objects.get_or_create(user_id=user_id)
    return AgentRoutingProfile.objects.select_for_update(skip_locked=True).filter(user_id=user_id).first()


def _pick_agent(*, rule: RuleSpec, facts: TicketFacts) -> int | None:
    cursor = _lock_cursor(rule.team_id)
    candidates = eligible(selectors.team_routing_candidates(team_id=rule.team_id), rule=rule, ticket=facts)
    for candidate in candidate_order(candidates, method=rule.method, last_user_id=cursor.last_user_id):
        profile = _lock_profile(candidate.user_id)
        if profile is None:
            continue
        # Counted again under the lock: a concurrent transaction may have just given this agent a ticket.
        load = selectors.open_ticket_counts(user_ids=[candidate.user_id]).get(candidate.user_id, 0)
        if load >= profile.capacity:
            continue
        if not registry.has_room(user_id=candidate.user_id, facts=facts):
            continue  # a channel's own limit, e.g. concurrent chats (cx.chat)
        profile.last_routed_at = timezone.now()
        profile.save(update_fields=["last_routed_at", "updated_at"])
        cursor.last_user_id = candidate.user_id
        cursor.save(update_fields=["last_user", "updated_at"])
        return candidate.user_id
    return None


def _route(ticket: Ticket, rules: list[RuleSpec], exhausted: set[tuple] | None = None) -> int | None:
    """Apply the first matching rule to a locked, unassigned ticket; returns the agent it went to."""
    facts = selectors.ticket_facts(ticket)
    rule = first_matching_rule(rules, facts)
    if rule is None:
        return None
    agent_id = None
    # Within one re-offer run, loads only grow: once nobody fits a kind of ticket, skip the rest of that kind.
    kind = (rule.rule_id, facts.language if rule.require_agent_language else "")
    if rule.method != RoutingMethod.MANUAL and (exhausted is None or kind not in exhausted):
        agent_id = _pick_agent(rule=rule, facts=facts)
        if agent_id is None and exhausted is not None:
            exhausted.add(kind)
    changes: dict[str, Any] = {}
    if ticket.team_id != rule.team_id:
        changes["team_id"] = rule.team_id
    if agent_id is not None:
        changes["assignee_id"] = agent_id
    if changes:
        ticket_update(actor=routing_actor(), ticket=ticket, changes=changes)
    return agent_id


def _routable(ticket: Ticket | None) -> bool:
    return (ticket is not None and ticket.assignee_id is None and ticket.merged_into_id is None
            and ticket.status_category in UNRESOLVED_CATEGORIES)


def ticket_route(*, ticket_id: int) -> int | None:
    """Route one ticket now (the caller holds or takes its row lock); returns the assignee id or None."""
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if not _routable(ticket):
        return None
    return _route(ticket, selectors.active_rule_specs())


def routing_reoffer(*, team_ids: set[int] | None = None, max_tickets: int = REOFFER_MAX_TICKETS) -> list[int]:
    """Offer waiting tickets of auto-routed teams (all, or only ``team_ids``) to agents with room, oldest
    first. Tickets someone else is changing right now are skipped (row lock taken with SKIP LOCKED) and
    picked up by the next run. Returns the ids of the tickets that got an agent."""
    teams = selectors.auto_routed_team_ids()
    if team_ids is not None:
        teams &= set(team_ids)
    if not teams:
        return []
    rules = selectors.active_rule_specs()
    exhausted: set[tuple] = set()
    assigned: list[int] = []
    seen = 0
    after = None
    while seen < max_tickets:
        page = selectors.unassigned_routable_ticket_ids(team_ids=teams, after=after,
                                                        limit=min(REOFFER_PAGE, max_tickets - seen))
        if not page:
            break
        after = page[-1]
        seen += len(page)
        for _created_at, ticket_id in page:
            ticket = Ticket.objects.select_for_update(skip_locked=True).filter(pk=ticket_id).first()
            if _routable(ticket) and _route(ticket, rules, exhausted) is not None:
                assigned.append(ticket_id)
    return assigned


# --- Observers -------------------------------------------------------------------------------------------

def _react(*, change: TicketChange) -> None:
    if change.event == "created":
        ticket_route(ticket_id=change.ticket_id)
        return
    ticket = Ticket.objects.filter(pk=change.ticket_id).only(
        "assignee_id", "team_id", "status_category", "merged_into_id").first()
    if ticket is None:
        return
    freed: set[int] = set()
    old_assignee = change.changes.get("assignee_id", [None])[0]
    if old_assignee is not None:
        freed.add(old_assignee)  # reassigned or unassigned: the previous agent has room again
    resolved = ticket.status_category not in UNRESOLVED_CATEGORIES
    if resolved and ticket.assignee_id and ({"status", "merged_into"} & set(change.changes)):
        freed.add(ticket.assignee_id)  # solved, closed or merged away
    if _routable(ticket) and _ROUTING_FIELDS & set(change.changes):
        ticket_route(ticket_id=ticket.pk)
    if freed:
        routing_reoffer(team_ids=selectors.team_ids_of_agents(user_ids=freed))


def on_ticket_change(change: TicketChange) -> None:
    """Ticket observer: route new tickets, re-route unassigned ones whose team or tags change, and
    re-offer waiting tickets when an agent's load drops."""
    if _routing_active.get():
        return  # routing's own assignment coming back through the hooks
    _guarded(_react, change=change)


def on_agent_status_change(*, user: User, old_status: str, new_status: str) -> None:
    """Agent status observer: an agent coming online takes the oldest waiting tickets of their teams."""
    if new_status != AgentStatus.ONLINE or _routing_active.get():
        return
    _guarded(routing_reoffer, team_ids=team_ids_of(user=user))


def reoffer_for_agent(*, user_id: int) -> list[int] | None:
    """Re-offer the waiting tickets of an agent's teams (their capacity or skills just changed)."""
    return _guarded(routing_reoffer, team_ids=selectors.team_ids_of_agents(user_ids={user_id}))


def reoffer_for_team(*, team_id: int) -> list[int] | None:
    return _guarded(routing_reoffer, team_ids={team_id})


def reoffer_job(now: datetime) -> list[int]:
    """Periodic safety net (every minute): re-offer every auto-routed team's waiting tickets. Failures
    propagate so the scheduler records them on the job's row."""
    return _as_routing(routing_reoffer)
