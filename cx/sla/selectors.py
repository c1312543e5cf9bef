"""Reads for SLA configuration and each ticket's SLA state (for the badge and the API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.errors import NotFound
from cx.sla.engine import policy_calendar
from cx.sla.models import BusinessCalendarConfig, SlaClock, SlaEvent, SlaMetric, SlaPolicy, TicketSla
from cx.tickets.business_hours import business_time_between
from cx.tickets.selectors import ticket_get_for


def business_calendar_list(*, actor: User, token_scope: AccessLevel | None = None) -> QuerySet[BusinessCalendarConfig]:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    return BusinessCalendarConfig.objects.prefetch_related("holidays").order_by("name")


def business_calendar_get_for(*, actor: User, calendar_id: int,
                              token_scope: AccessLevel | None = None) -> BusinessCalendarConfig:
    calendar = business_calendar_list(actor=actor, token_scope=token_scope).filter(pk=calendar_id).first()
    if calendar is None:
        raise NotFound(f"No business calendar with id {calendar_id}.")
    return calendar


def sla_policy_list(*, actor: User, token_scope: AccessLevel | None = None) -> QuerySet[SlaPolicy]:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    return SlaPolicy.objects.prefetch_related("targets").order_by("position", "id")


def sla_policy_get_for(*, actor: User, policy_id: int, token_scope: AccessLevel | None = None) -> SlaPolicy:
    policy = sla_policy_list(actor=actor, token_scope=token_scope).filter(pk=policy_id).first()
    if policy is None:
        raise NotFound(f"No SLA policy with id {policy_id}.")
    return policy


# --- One ticket's SLA state ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockState:
    """One target as an agent sees it. ``state``: running, paused, breached, achieved, achieved_late or
    no_target. ``business_time_left`` is counted in the policy's business hours (None unless running)."""

    clock: SlaClock
    state: str
    business_time_left: timedelta | None

    @property
    def metric_label(self) -> str:
        return SlaMetric(self.clock.metric).label


@dataclass(frozen=True)
class TicketSlaState:
    """``state``: none (no policy matches), running, paused, breached (a running target is overdue), met
    (nothing running, no breach) or missed (nothing running, something was breached)."""

    ticket_id: int
    policy: SlaPolicy | None
    state: str
    next_due_at: datetime | None
    breached_at: datetime | None
    clocks: list[ClockState] = field(default_factory=list)
    headline: ClockState | None = None
    events: list[SlaEvent] = field(default_factory=list)
    # Running and inside the policy's warning window (the badge turns amber).
    warning: bool = False


def _clock_state(clock: SlaClock, calendar, now: datetime) -> ClockState:
    if clock.achieved_at is not None:
        return ClockState(clock, "achieved_late" if clock.breached_at else "achieved", None)
    if clock.breached_at is not None or (clock.due_at is not None and clock.due_at <= now):
        return ClockState(clock, "breached", None)
    if clock.due_at is None:
        paused = bool(clock.paused_intervals) and clock.paused_intervals[-1][1] is None
        return ClockState(clock, "paused" if paused else "no_target", None)
    return ClockState(clock, "running", business_time_between(calendar, now, clock.due_at))


def ticket_sla_state(*, actor: User, ticket_id: int, token_scope: AccessLevel | None = None,
                     now: datetime | None = None) -> TicketSlaState:
    """The SLA of a ticket the actor may read (NotFound otherwise), with every clock and event."""
    ticket = ticket_get_for(actor=actor, ticket_id=ticket_id, token_scope=token_scope)
    now = now or timezone.now()
    sla = (TicketSla.objects.select_related("policy__calendar")
           .prefetch_related("policy__calendar__holidays",
                             Prefetch("clocks", queryset=SlaClock.objects.order_by("started_at", "id")))
           .filter(ticket_id=ticket.pk).first())
    events = list(SlaEvent.objects.filter(ticket_id=ticket.pk).order_by("at", "id"))
    if sla is None:
        return TicketSlaState(ticket_id=ticket.pk, policy=None, state="none", next_due_at=ticket.sla_next_due_at,
                              breached_at=ticket.sla_breached_at, events=events)
    calendar = policy_calendar(sla.policy)
    clocks = [_clock_state(c, calendar, now) for c in sla.clocks.all()]
    # The current clock of each metric (earlier next-response cycles are history).
    current: dict[str, ClockState] = {}
    for state in clocks:
        current[state.clock.metric] = state
    live = [s for s in current.values() if s.state in ("running", "paused", "breached")]
    breached = sorted((s for s in live if s.state == "breached"), key=lambda s: s.clock.due_at or now)
    running = sorted((s for s in live if s.state == "running"), key=lambda s: s.clock.due_at)
    paused = [s for s in live if s.state == "paused"]
    if sla.policy is None:
        state, headline = "none", None
    elif breached:
        state, headline = "breached", breached[0]
    elif running:
        state, headline = "running", running[0]
    elif paused:
        state, headline = "paused", paused[0]
    elif any(s.clock.breached_at for s in clocks):
        state, headline = "missed", None
    else:
        state, headline = "met", None
    warning = bool(state == "running" and sla.policy.warn_before_minutes
                   and headline.clock.due_at - now <= timedelta(minutes=sla.policy.warn_before_minutes))
    return TicketSlaState(ticket_id=ticket.pk, policy=sla.policy, state=state, next_due_at=ticket.sla_next_due_at,
                          breached_at=ticket.sla_breached_at, clocks=clocks, headline=headline, events=events,
                          warning=warning)
