"""Ticket changes whose observers run after commit, in batches (see cx/tickets/hooks.py).

``defer_change`` stores the change in the caller's transaction and, after commit, makes sure a drain is
queued: at most one per process every ``DRAIN_DELAY`` seconds (a task whose ``run_after`` lies ahead will
run after this commit and so picks the row up; a burst of chat messages costs one task, not one each). With
a task backend that cannot delay (the immediate backend of tests and ``CXDESK_TASKS=immediate``) the drain
runs right after commit. A periodic job drains whatever is left (a process that died between commit and
enqueue) once a minute.

``drain`` runs pending changes in id order, each in its own transaction with the ticket row locked first
(the tickets services' lock order), then the touchpoints it carries and the non-inline observers; the row
is deleted in that same transaction, so a change runs exactly once even with several workers (a row
another worker already ran is gone once the lock is ours). A change whose observer raises is logged and
kept for the next drain (a later inline change of the ticket retries it too); after ``MAX_ATTEMPTS`` it is
dropped with an error log, so one broken observer cannot block a ticket for ever.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from cx.tickets.hooks import TicketChange, run_observers
from cx.tickets.models import DeferredTicketChange, Ticket

logger = logging.getLogger("cx.tickets")

DRAIN_DELAY = 0.5  # seconds: how long a drain waits to gather a batch (the latency of deferred observers)
DRAIN_BATCH = 500  # changes per drain task; a full batch queues the next one at once
MAX_ATTEMPTS = 5

_lock = threading.Lock()
_queued_until = 0.0  # monotonic time before which this process's last queued drain has not run yet
_attempts: dict[int, int] = {}


def defer_change(change: TicketChange, *, touchpoints: list[dict[str, Any]]) -> DeferredTicketChange:
    row = DeferredTicketChange.objects.create(
        ticket_id=change.ticket_id, event=change.event, actor_id=change.actor_id, changes=change.changes,
        message_id=change.message_id, automation_depth=change.automation_depth,
        occurred_at=change.occurred_at or timezone.now(), touchpoints=touchpoints)
    transaction.on_commit(schedule_drain)
    return row


def schedule_drain() -> None:
    """Queue a drain unless one queued by this process will still run after now."""
    global _queued_until
    from cx.tickets.tasks import drain_deferred_ticket_changes

    backend = drain_deferred_ticket_changes.get_backend()
    if not backend.supports_defer:
        drain_deferred_ticket_changes.enqueue()
        return
    with _lock:
        now = time.monotonic()
        if now < _queued_until:
            return
        _queued_until = now + DRAIN_DELAY
    try:
        drain_deferred_ticket_changes.using(
            run_after=timezone.now() + timedelta(seconds=DRAIN_DELAY)).enqueue()
    except Exception:
        with _lock:
            _queued_until = 0.0
        logger.exception("could not queue the drain of deferred ticket changes (the periodic job will run them)")


def _change(row: DeferredTicketChange) -> TicketChange:
    return TicketChange(ticket_id=row.ticket_id, event=row.event, actor_id=row.actor_id, changes=row.changes,
                        message_id=row.message_id, automation_depth=row.automation_depth,
                        occurred_at=row.occurred_at)


def _write_touchpoints(ticket: Ticket, row: DeferredTicketChange) -> None:
    from cx.journeys.services import touchpoint_record

    for touchpoint in row.touchpoints:
        touchpoint_record(customer=ticket.requester, kind=touchpoint["kind"],
                          channel=touchpoint.get("channel") or ticket.channel, stage="support",
                          occurred_at=row.occurred_at,
                          properties={"ticket_id": ticket.pk, "subject": ticket.subject[:120],
                                      **(touchpoint.get("properties") or {})},
                          source="tickets")


def _run_row(row: DeferredTicketChange, ticket: Ticket) -> None:
    _write_touchpoints(ticket, row)
    run_observers(_change(row), inline=False)


def run_pending_for_ticket(*, ticket_id: int) -> int:
    """Run a ticket's pending deferred changes now, inside the caller's transaction (which has locked the
    ticket, or is about to run its own observers for it). Returns how many ran.

    Each row is deleted before its observers run (in a savepoint, so a failure puts it back): an observer
    that changes the ticket in turn (a trigger) comes back here and must not find the same change again. A
    failing change is logged and left for the drain; it never fails the caller's own change."""
    rows = list(DeferredTicketChange.objects.filter(ticket_id=ticket_id).order_by("id"))
    if not rows:
        return 0
    ticket = Ticket.objects.select_related("requester").get(pk=ticket_id)
    ran = 0
    for row in rows:
        try:
            with transaction.atomic():
                if not DeferredTicketChange.objects.filter(pk=row.pk).delete()[0]:
                    continue  # run already by a nested change
                _run_row(row, ticket)
            ran += 1
        except Exception:
            logger.exception("deferred ticket change %s of ticket %s failed; the drain retries it", row.pk,
                             ticket_id)
    return ran


def _run_one(row_id: int, ticket_id: int) -> bool:
    """One change in its own transaction; False when another process ran it first."""
    with transaction.atomic():
        ticket = (Ticket.objects.select_for_update(of=("self",)).select_related("requester")
                  .filter(pk=ticket_id).first())
        row = DeferredTicketChange.objects.filter(pk=row_id).first()
        if row is None:
            return False
        # Deleted first (the transaction puts it back if an observer fails): a trigger's own change of the
        # ticket runs the ticket's pending changes, and must not find this one again.
        DeferredTicketChange.objects.filter(pk=row_id).delete()
        if ticket is not None:
            _run_row(row, ticket)
    return True


def drain(*, limit: int = DRAIN_BATCH) -> int:
    """Run up to ``limit`` pending changes (oldest first); returns how many ran."""
    pending = list(DeferredTicketChange.objects.order_by("id").values_list("pk", "ticket_id")[:limit])
    ran = 0
    skipped_tickets: set[int] = set()
    for row_id, ticket_id in pending:
        if ticket_id in skipped_tickets:
            continue  # an earlier change of this ticket failed: keep the order, retry both later
        try:
            ran += _run_one(row_id, ticket_id)
            _attempts.pop(row_id, None)
        except Exception:
            attempts = _attempts.get(row_id, 0) + 1
            _attempts[row_id] = attempts
            if attempts >= MAX_ATTEMPTS:
                logger.exception("deferred ticket change %s of ticket %s failed %s times; dropped", row_id,
                                 ticket_id, attempts)
                DeferredTicketChange.objects.filter(pk=row_id).delete()
                _attempts.pop(row_id, None)
            else:
                logger.exception("deferred ticket change %s of ticket %s failed; retried later", row_id, ticket_id)
                skipped_tickets.add(ticket_id)
    return ran


def drain_job(now: datetime) -> int:
    """Periodic safety net: run what no queued drain picked up."""
    total = 0
    while True:
        ran = drain()
        total += ran
        if ran < DRAIN_BATCH:
            return total
