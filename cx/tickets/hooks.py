"""Observers of ticket changes, registered by apps above tickets (SLA, automations, webhooks,
notifications) in their AppConfig.ready(). Explicit registration instead of Django signals: the list of
what runs on a ticket change is visible here and in each app's ready().

Observers run inside the transaction of the change, in registration order, so an SLA recomputation or a
trigger's action commits (or rolls back) together with the change that caused it. Observers that talk to
the outside world must queue that work with ``transaction.on_commit``.

Deferred changes (``notify_ticket_change(..., deferred=True)``, used for a visitor's chat message, where the
visitor waits for the store and the push only): the observers registered with ``inline=True`` (cheap ones
that shape what the customer sees next, such as the chat's push of agent replies and the answer bot, which
acts after commit) run at once; the change is stored as a ``DeferredTicketChange`` row in the same
transaction and the other observers run later, in batches, on the task queue (``cx.tickets.deferred``), each
change in its own transaction with the ticket locked and ``TicketChange.occurred_at`` set to when it
happened. Before any inline change of a ticket runs its observers, the ticket's pending deferred changes are
run first, so every observer sees one ticket's changes in order (an agent's reply never overtakes the
customer message it answers).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TicketChange:
    ticket_id: int
    event: str  # created, updated, replied, noted, customer_replied, merged, split
    actor_id: int | None  # None for customers and the system
    changes: dict[str, list[Any]] = field(default_factory=dict)  # field -> [old, new]
    message_id: int | None = None
    # Set while automations act, so their own changes are recognised (loop protection).
    automation_depth: int = 0
    # When the change happened, for a deferred change that runs later (None: now).
    occurred_at: datetime | None = None


TicketObserver = Callable[[TicketChange], None]
_observers: dict[str, TicketObserver] = {}
_inline: set[str] = set()
_automation_depth: contextvars.ContextVar[int] = contextvars.ContextVar("cx_automation_depth", default=0)


def register_ticket_observer(name: str, observer: TicketObserver, *, inline: bool = False) -> None:
    """``inline``: run it at once for deferred changes too (it must be cheap; see the module docstring)."""
    _observers[name] = observer
    if inline:
        _inline.add(name)
    else:
        _inline.discard(name)


def run_observers(change: TicketChange, *, inline: bool | None = None) -> None:
    """Run the observers (only the inline ones, only the others, or all when ``inline`` is None)."""
    for name, observer in list(_observers.items()):
        if inline is None or (name in _inline) == inline:
            observer(change)


def automation_depth() -> int:
    return _automation_depth.get()


class acting_automation:
    """Mark changes made inside the block as made by an automation (one level deeper)."""

    def __enter__(self) -> int:
        self._token = _automation_depth.set(_automation_depth.get() + 1)
        return _automation_depth.get()

    def __exit__(self, *exc: object) -> None:
        _automation_depth.reset(self._token)


def notify_ticket_change(*, ticket_id: int, event: str, actor_id: int | None,
                         changes: dict[str, list[Any]] | None = None, message_id: int | None = None,
                         deferred: bool = False, touchpoints: list[dict[str, Any]] | None = None) -> None:
    """Run the observers of a change now, or (``deferred``) the inline ones now and the rest from the task
    queue, together with ``touchpoints`` ([{"kind", "channel", "properties"}] written for the requester)."""
    from cx.tickets import deferred as deferral

    change = TicketChange(ticket_id=ticket_id, event=event, actor_id=actor_id, changes=changes or {},
                          message_id=message_id, automation_depth=_automation_depth.get())
    if deferred:
        run_observers(change, inline=True)
        deferral.defer_change(change, touchpoints=touchpoints or [])
        return
    deferral.run_pending_for_ticket(ticket_id=ticket_id)
    run_observers(change)
