"""Observers of ticket changes, registered by apps above tickets (SLA, automations, webhooks,
notifications) in their AppConfig.ready(). Explicit registration instead of Django signals: the list of
what runs on a ticket change is visible here and in each app's ready().

Observers run inside the transaction of the change, in registration order, so an SLA recomputation or a
trigger's action commits (or rolls back) together with the change that caused it. Observers that talk to
the outside world must queue that work with ``transaction.on_commit``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass, field
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


TicketObserver = Callable[[TicketChange], None]
_observers: dict[str, TicketObserver] = {}
_automation_depth: contextvars.ContextVar[int] = contextvars.ContextVar("cx_automation_depth", default=0)


def register_ticket_observer(name: str, observer: TicketObserver) -> None:
    _observers[name] = observer


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
                         changes: dict[str, list[Any]] | None = None, message_id: int | None = None) -> None:
    change = TicketChange(ticket_id=ticket_id, event=event, actor_id=actor_id, changes=changes or {},
                          message_id=message_id, automation_depth=_automation_depth.get())
    for observer in list(_observers.values()):
        observer(change)
