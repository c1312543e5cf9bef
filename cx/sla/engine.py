"""The SLA clock: follows every ticket change, keeps each ticket's targets and due times, and checks for
warnings, breaches and escalations once a minute.

Facts and derived values are kept apart. Facts are what happened (when a clock started and was achieved,
when the ticket sat in pending or on hold, when a solved ticket was reopened); due times, the pauses that
apply and the ticket's ``sla_next_due_at`` are derived from the facts, the policy that matches now and its
business calendar, so any edit can recompute them. Breaches, warnings and escalations happen once per clock:
the clock records when, and a unique constraint on ``SlaEvent`` guards it in the database too.

Lock order is the tickets services' own: the ticket row first, then the SLA rows. The observer runs inside the
service's transaction (the ticket is locked already); the periodic check and recomputation lock the ticket
first. The observer never calls tickets services; the periodic check does (escalation), as an automation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from cx.accounts.models import User
from cx.accounts.selectors import is_team_member
from cx.accounts.services import system_user_get
from cx.core.audit import audit_record
from cx.core.errors import DomainError
from cx.sla.models import SlaClock, SlaEvent, SlaEventKind, SlaMetric, SlaPolicy, TicketSla
from cx.tickets.business_hours import BusinessCalendar, add_business_time_with_pauses
from cx.tickets.hooks import TicketChange, acting_automation
from cx.tickets.models import PRIORITY_RANK, UNRESOLVED_CATEGORIES, StatusCategory, Ticket
from cx.tickets.services import ticket_update

logger = logging.getLogger("cx.sla")

SYSTEM_USERNAME = "cxdesk-bot"
CHECK_BATCH = 500  # clocks per kind per run; the rest are picked up a minute later
_PAUSE_FLAG = {StatusCategory.PENDING: "pause_on_pending", StatusCategory.ON_HOLD: "pause_on_hold"}
_DONE = (StatusCategory.SOLVED, StatusCategory.CLOSED)
_CLOCK_FIELDS = ("due_at", "achieved_at", "breached_at", "paused_intervals", "resumed_gaps")

Pause = tuple[datetime, datetime | None]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


# --- Policy selection (plain functions over loaded values) -------------------------------------------------


def policy_matches(policy: SlaPolicy, *, priority: str, organization_id: int | None, channel: str,
                   tags: Iterable[str]) -> bool:
    """All conditions must hold; an empty condition matches anything; segments match any shared tag."""
    if policy.priorities and priority not in policy.priorities:
        return False
    if policy.organization_ids and organization_id not in policy.organization_ids:
        return False
    if policy.channels and channel not in policy.channels:
        return False
    return not (policy.customer_segments and not set(policy.customer_segments) & set(tags))


def active_policies() -> list[SlaPolicy]:
    """Active policies in matching order, with targets and calendars loaded (2-4 queries)."""
    return list(SlaPolicy.objects.filter(is_active=True).select_related("calendar")
                .prefetch_related("targets", "calendar__holidays").order_by("position", "id"))


def policy_for_ticket(ticket: Ticket, policies: list[SlaPolicy]) -> SlaPolicy | None:
    """The first active policy (by position) whose conditions the ticket meets, or None (no SLA)."""
    tags: list[str] = []
    if any(p.customer_segments for p in policies):
        tags = list(ticket.tags.values_list("name", flat=True))
    for policy in policies:
        if policy_matches(policy, priority=ticket.priority, organization_id=ticket.organization_id,
                          channel=ticket.channel, tags=tags):
            return policy
    return None


# --- The clock -----------------------------------------------------------------------------------------------


def policy_calendar(policy: SlaPolicy | None) -> BusinessCalendar:
    """The business calendar a policy measures in; 24/7 without one. Cached on the loaded policy."""
    if policy is None or policy.calendar is None:
        return BusinessCalendar.always_open()
    cached = getattr(policy, "_cx_calendar", None)
    if cached is None:
        cached = policy.calendar.to_calendar([h.date for h in policy.calendar.holidays.all()])
        policy._cx_calendar = cached
    return cached


def target_minutes(policy: SlaPolicy | None, priority: str, metric: str) -> int | None:
    if policy is None:
        return None
    for target in policy.targets.all():
        if target.priority == priority and target.metric == metric:
            return target.minutes
    return None


def clock_pauses(sla: TicketSla, clock: SlaClock, policy: SlaPolicy | None) -> list[Pause]:
    """The stretches that do not count for this clock: pending/on hold if the policy pauses them, and (for
    resolution) the time between a solve and its reopen; clipped to the clock's own running time."""
    raw: list[Pause] = []
    if policy is not None:
        for category, start, end in sla.status_pauses:
            if getattr(policy, _PAUSE_FLAG[category]):
                raw.append((_instant(start), _instant(end)))
    raw += [(_instant(start), _instant(end)) for start, end in clock.resumed_gaps]
    clipped: list[Pause] = []
    for start, end in sorted(raw, key=lambda p: p[0]):
        if end is not None and end <= clock.started_at:
            continue
        if clock.achieved_at is not None:
            if start >= clock.achieved_at:
                continue
            end = clock.achieved_at if end is None else min(end, clock.achieved_at)
        clipped.append((max(start, clock.started_at), end))
    return clipped


def _due(policy: SlaPolicy | None, priority: str, clock: SlaClock, pauses: list[Pause]) -> datetime | None:
    minutes = target_minutes(policy, priority, clock.metric)
    if minutes is None:
        return None
    try:
        return add_business_time_with_pauses(policy_calendar(policy), clock.started_at, timedelta(minutes=minutes),
                                             pauses)
    except ValueError:
        logger.warning("cannot compute the %s due time of ticket SLA %s", clock.metric, clock.ticket_sla_id,
                       exc_info=True)
        return None


def _derive(sla: TicketSla, clock: SlaClock, policy: SlaPolicy | None, priority: str) -> None:
    pauses = clock_pauses(sla, clock, policy)
    clock.paused_intervals = [[_iso(a), None if b is None else _iso(b)] for a, b in pauses]
    clock.due_at = _due(policy, priority, clock, pauses)


# --- Following ticket changes --------------------------------------------------------------------------------


def sla_on_ticket_change(change: TicketChange) -> None:
    """The ticket observer (registered in SlaConfig.ready); runs inside the change's transaction, or later
    for a deferred change (a chat message), measured from when the change happened."""
    sla_ticket_sync(ticket_id=change.ticket_id, event=change.event, occurred_at=change.occurred_at)


def _bootstrap(ticket: Ticket, now: datetime) -> tuple[TicketSla, list[SlaClock]]:
    """The first SLA record of a ticket (at creation, or the first change of a ticket older than this app)."""
    category = ticket.status_category
    pauses = [[category, _iso(now), None]] if category in _PAUSE_FLAG else []
    sla = TicketSla.objects.create(ticket=ticket, status_category=category, status_pauses=pauses)
    done_at = (ticket.solved_at or ticket.closed_at or now) if category in _DONE else None
    # Saved by the caller once their due times are known.
    clocks = [
        SlaClock(ticket_sla=sla, metric=SlaMetric.FIRST_RESPONSE, started_at=ticket.created_at,
                 achieved_at=ticket.first_response_at or done_at),
        SlaClock(ticket_sla=sla, metric=SlaMetric.RESOLUTION, started_at=ticket.created_at, achieved_at=done_at),
    ]
    return sla, clocks


def _apply_status(sla: TicketSla, clocks: list[SlaClock], category: str, now: datetime) -> None:
    """Record a move between status categories: pauses open and close, a reopen resumes resolution."""
    old = sla.status_category
    if old == category:
        return
    if old in _PAUSE_FLAG:
        sla.status_pauses = [[c, start, end if end is not None else _iso(now)] for c, start, end in sla.status_pauses]
    if category in _PAUSE_FLAG:
        sla.status_pauses = [*sla.status_pauses, [category, _iso(now), None]]
    if old in _DONE and category not in _DONE:
        resolution = _latest(clocks, SlaMetric.RESOLUTION)
        if resolution is not None and resolution.achieved_at is not None:
            # The time while solved does not count: resolution resumes where it stopped.
            resolution.resumed_gaps = [*resolution.resumed_gaps, [_iso(resolution.achieved_at), _iso(now)]]
            resolution.achieved_at = None
    sla.status_category = category


def _latest(clocks: list[SlaClock], metric: str) -> SlaClock | None:
    matching = [c for c in clocks if c.metric == metric]
    return max(matching, key=lambda c: (c.started_at, c.pk or 0)) if matching else None


def _running(clocks: list[SlaClock], metric: str | None = None) -> list[SlaClock]:
    return [c for c in clocks if c.achieved_at is None and (metric is None or c.metric == metric)]


def _snapshot(clock: SlaClock) -> tuple:
    return tuple(getattr(clock, name) for name in _CLOCK_FIELDS)


@transaction.atomic
def sla_ticket_sync(*, ticket_id: int, event: str = "recompute", now: datetime | None = None,
                    policies: list[SlaPolicy] | None = None, occurred_at: datetime | None = None) -> TicketSla | None:
    """Bring one ticket's SLA up to date after ``event`` (a TicketChange event, or "recompute").

    created: first response and resolution start; replied (an agent's public reply): first and next response
    are achieved; customer_replied: a next-response clock starts; into pending/on hold: a pause opens, out of
    it: it closes; solved/closed: every running target is achieved; reopened: resolution resumes. Then the
    matching policy is chosen again and due times are recomputed.

    ``occurred_at``: when a deferred customer reply was written; its next-response clock starts then (the
    ticket's last customer message may be a later one by the time the deferred change runs).
    """
    now = now or timezone.now()
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return None
    sla = TicketSla.objects.select_for_update().filter(ticket_id=ticket_id).first()
    if sla is None:
        sla, clocks = _bootstrap(ticket, now)
        before: dict[int, tuple] = {}
        just_achieved = [c for c in clocks if c.achieved_at is not None]
    else:
        clocks = list(sla.clocks.select_for_update().order_by("started_at", "id"))
        before = {c.pk: _snapshot(c) for c in clocks}
        just_achieved = []
    sla_before = (sla.policy_id, sla.status_category, sla.status_pauses)

    _apply_status(sla, clocks, ticket.status_category, now)
    policy = policy_for_ticket(ticket, policies if policies is not None else active_policies())
    sla.policy = policy
    for clock in _running(clocks):
        _derive(sla, clock, policy, ticket.priority)

    to_achieve: list[tuple[SlaClock, datetime]] = []
    if event == "replied":
        to_achieve += [(c, ticket.first_response_at or now) for c in _running(clocks, SlaMetric.FIRST_RESPONSE)]
        to_achieve += [(c, ticket.last_agent_reply_at or now) for c in _running(clocks, SlaMetric.NEXT_RESPONSE)]
    if ticket.status_category in _DONE:
        # Solving fulfils every target, as in Zendesk; resolution resumes if the ticket reopens.
        listed = {id(c) for c, _ in to_achieve}
        to_achieve += [(c, now) for c in _running(clocks) if id(c) not in listed]
    for clock, at in to_achieve:
        clock.achieved_at = max(at, clock.started_at)
        just_achieved.append(clock)
    for clock in just_achieved:
        _derive(sla, clock, policy, ticket.priority)

    if (event == "customer_replied" and ticket.status_category in UNRESOLVED_CATEGORIES
            and not _running(clocks, SlaMetric.FIRST_RESPONSE) and not _running(clocks, SlaMetric.NEXT_RESPONSE)):
        next_response = SlaClock(ticket_sla=sla, metric=SlaMetric.NEXT_RESPONSE,
                                 started_at=occurred_at or ticket.last_customer_message_at or now)
        _derive(sla, next_response, policy, ticket.priority)
        clocks.append(next_response)

    if (sla.policy_id, sla.status_category, sla.status_pauses) != sla_before:
        sla.save(update_fields=["policy", "status_category", "status_pauses", "updated_at"])
    for clock in clocks:
        if clock.pk is None:
            clock.save()
        elif before.get(clock.pk) != _snapshot(clock):
            clock.save(update_fields=list(_CLOCK_FIELDS))
    for clock in just_achieved:
        _record_late_achievement(ticket, clock)
    write_ticket_sla_fields(ticket_id=ticket.pk, current=(ticket.sla_next_due_at, ticket.sla_breached_at))
    return sla


def _record_late_achievement(ticket: Ticket, clock: SlaClock) -> None:
    """A target met after its due time is a breach too (the minute check may not have seen it yet)."""
    if clock.due_at is None or clock.achieved_at is None or clock.achieved_at <= clock.due_at:
        return
    if clock.breached_at is not None:
        return
    clock.breached_at = clock.due_at
    SlaClock.objects.filter(pk=clock.pk).update(breached_at=clock.breached_at)
    _event(ticket_id=ticket.pk, clock=clock, kind=SlaEventKind.BREACH, at=clock.due_at,
           detail={"due_at": _iso(clock.due_at), "achieved_at": _iso(clock.achieved_at), "late": True})


def write_ticket_sla_fields(*, ticket_id: int, current: tuple[datetime | None, datetime | None] | None = None) -> None:
    """Keep ``Ticket.sla_next_due_at`` (nearest running due time) and ``sla_breached_at`` (first breach) in
    sync, with a queryset update so no stale ticket instance is saved over anything."""
    values = SlaClock.objects.filter(ticket_sla__ticket_id=ticket_id).aggregate(
        next_due=Min("due_at", filter=Q(achieved_at__isnull=True)), breached=Min("breached_at"))
    fields = (values["next_due"], values["breached"])
    if current is not None and current == fields:
        return
    Ticket.objects.filter(pk=ticket_id).update(sla_next_due_at=fields[0], sla_breached_at=fields[1])


def sla_recompute_open_tickets(*, calendar_id: int | None = None, now: datetime | None = None) -> int:
    """After a policy or calendar edit: re-match and recompute every unresolved ticket (only those whose
    policy uses ``calendar_id`` when given). Each ticket is its own short transaction. Returns the count."""
    if calendar_id is not None:
        ids = list(TicketSla.objects.filter(policy__calendar_id=calendar_id,
                                            ticket__status_category__in=UNRESOLVED_CATEGORIES)
                   .order_by("ticket_id").values_list("ticket_id", flat=True))
    else:
        ids = list(Ticket.objects.filter(status_category__in=UNRESOLVED_CATEGORIES).order_by("pk")
                   .values_list("pk", flat=True))
    policies = active_policies()
    for ticket_id in ids:
        with transaction.atomic():
            if Ticket.objects.select_for_update().filter(pk=ticket_id).exists():
                sla_ticket_sync(ticket_id=ticket_id, event="recompute", now=now, policies=policies)
    return len(ids)


# --- Warnings, breaches and escalation (the periodic job) ---------------------------------------------------


def _event(*, ticket_id: int, clock: SlaClock, kind: str, at: datetime, detail: dict[str, Any]) -> SlaEvent | None:
    """Record a warning, breach or escalation once per clock (the constraint rejects a second one)."""
    try:
        with transaction.atomic():
            event = SlaEvent.objects.create(ticket_id=ticket_id, clock=clock, metric=clock.metric, kind=kind, at=at,
                                            detail=detail)
    except IntegrityError:
        return None
    audit_record(actor=None, action=f"sla.{kind}", target_type="ticket", target_id=ticket_id,
                 data={"metric": clock.metric, **detail})
    return event


def sla_system_actor() -> User:
    """The system account escalations act as, so ticket services keep their audit trail and checks."""
    return system_user_get(username=SYSTEM_USERNAME, label="SLA escalation")


def _lock_clock(clock_id: int, **conditions: Any) -> tuple[Ticket, SlaClock, TicketSla] | None:
    ticket_id = SlaClock.objects.filter(pk=clock_id).values_list("ticket_sla__ticket_id", flat=True).first()
    if ticket_id is None:
        return None
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    clock = SlaClock.objects.select_for_update().filter(pk=clock_id, achieved_at__isnull=True,
                                                        **conditions).first()
    if ticket is None or clock is None:
        return None  # answered, solved or handled by another run meanwhile
    sla = TicketSla.objects.select_related("policy").get(pk=clock.ticket_sla_id)
    return ticket, clock, sla


def _escalate(ticket: Ticket, policy: SlaPolicy) -> dict[str, Any]:
    """Raise priority and reassign as the policy says, through the tickets service, as an automation."""
    changes: dict[str, Any] = {}
    if policy.escalate_priority and PRIORITY_RANK[policy.escalate_priority] > PRIORITY_RANK[ticket.priority]:
        changes["priority"] = policy.escalate_priority
    if policy.escalate_team_id and policy.escalate_team_id != ticket.team_id:
        changes["team_id"] = policy.escalate_team_id
        if (not policy.escalate_assignee_id and ticket.assignee_id
                and not is_team_member(user_id=ticket.assignee_id, team_id=policy.escalate_team_id)):
            changes["assignee_id"] = None  # to the team's queue
    if policy.escalate_assignee_id and policy.escalate_assignee_id != ticket.assignee_id:
        changes["assignee_id"] = policy.escalate_assignee_id
    detail: dict[str, Any] = {"notify": policy.escalate_notify, "changes": changes, "policy_id": policy.pk}
    if changes:
        try:
            with acting_automation():
                ticket_update(actor=sla_system_actor(), ticket=ticket, changes=changes)
        except DomainError as exc:
            logger.warning("SLA escalation of ticket %s could not change it: %s", ticket.pk, exc.message)
            detail["error"] = {"message": exc.message, "fields": exc.fields}
    return detail


def _breach(clock_id: int, now: datetime) -> bool:
    with transaction.atomic():
        locked = _lock_clock(clock_id, breached_at__isnull=True, due_at__lte=now)
        if locked is None:
            return False
        ticket, clock, _ = locked
        clock.breached_at = clock.due_at
        clock.save(update_fields=["breached_at"])
        _event(ticket_id=ticket.pk, clock=clock, kind=SlaEventKind.BREACH, at=clock.due_at,
               detail={"due_at": _iso(clock.due_at), "detected_at": _iso(now)})
        write_ticket_sla_fields(ticket_id=ticket.pk)
        return True


def _escalation_candidates() -> list[int]:
    """Breached, still unmet clocks not escalated yet, under a policy that escalates."""
    escalates = (Q(ticket_sla__policy__escalate_notify=True) | ~Q(ticket_sla__policy__escalate_priority="")
                 | Q(ticket_sla__policy__escalate_team__isnull=False)
                 | Q(ticket_sla__policy__escalate_assignee__isnull=False))
    return list(SlaClock.objects.filter(escalates, breached_at__isnull=False, achieved_at__isnull=True,
                                        escalated_at__isnull=True).order_by("breached_at")
                .values_list("pk", flat=True)[:CHECK_BATCH])


def _escalate_clock(clock_id: int, now: datetime) -> bool:
    with transaction.atomic():
        locked = _lock_clock(clock_id, breached_at__isnull=False, escalated_at__isnull=True)
        if locked is None:
            return False
        ticket, clock, sla = locked
        policy = sla.policy
        if policy is None or not policy.has_escalation:
            return False
        detail = _escalate(ticket, policy)
        SlaClock.objects.filter(pk=clock.pk).update(escalated_at=now)
        _event(ticket_id=ticket.pk, clock=clock, kind=SlaEventKind.ESCALATION, at=now, detail=detail)
        return True


def _warn(clock_id: int, now: datetime) -> bool:
    with transaction.atomic():
        locked = _lock_clock(clock_id, breached_at__isnull=True, warning_sent_at__isnull=True, due_at__gt=now)
        if locked is None:
            return False
        ticket, clock, sla = locked
        policy = sla.policy
        if policy is None or not policy.warn_before_minutes:
            return False
        if clock.due_at - timedelta(minutes=policy.warn_before_minutes) > now:
            return False
        clock.warning_sent_at = now
        clock.save(update_fields=["warning_sent_at"])
        _event(ticket_id=ticket.pk, clock=clock, kind=SlaEventKind.WARNING, at=now,
               detail={"due_at": _iso(clock.due_at), "minutes_left": int((clock.due_at - now).total_seconds() // 60)})
        return True


def sla_check(now: datetime) -> dict[str, int]:
    """The ``sla.check`` periodic job: mark breaches, escalate them and send warnings. Safe to run any number
    of times: each clock is breached, escalated and warned at most once."""
    running = SlaClock.objects.filter(achieved_at__isnull=True, breached_at__isnull=True, due_at__isnull=False)
    counts = {"breaches": 0, "escalations": 0, "warnings": 0}
    overdue = list(running.filter(due_at__lte=now).order_by("due_at").values_list("pk", flat=True)[:CHECK_BATCH])
    for clock_id in overdue:
        try:
            counts["breaches"] += _breach(clock_id, now)
        except Exception:
            logger.exception("SLA breach handling failed for clock %s", clock_id)
    # Separate from marking the breach: an escalation that crashes (not one the ticket service refuses, which
    # is recorded as done) is retried a minute later, and the breach stays recorded either way.
    for clock_id in _escalation_candidates():
        try:
            counts["escalations"] += _escalate_clock(clock_id, now)
        except Exception:
            logger.exception("SLA escalation failed for clock %s", clock_id)
    longest_warning = SlaPolicy.objects.aggregate(v=Max("warn_before_minutes"))["v"] or 0
    if longest_warning:
        soon = running.filter(due_at__gt=now, due_at__lte=now + timedelta(minutes=longest_warning),
                              warning_sent_at__isnull=True)
        for clock_id in list(soon.order_by("due_at").values_list("pk", flat=True)[:CHECK_BATCH]):
            try:
                counts["warnings"] += _warn(clock_id, now)
            except Exception:
                logger.exception("SLA warning failed for clock %s", clock_id)
    return counts
