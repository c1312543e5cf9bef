"""Extra capacity limits that apps above routing add to an agent's open-ticket capacity.

A channel app with its own notion of load (live chat: concurrent conversations per agent) registers a
check in its ``AppConfig.ready()``; routing asks every check, under the agent's profile lock, before it gives
the agent a ticket. A check answers only for the tickets it cares about (by channel) and says ``True``
(room) for the rest.
"""

from __future__ import annotations

from collections.abc import Callable

from cx.routing.matching import TicketFacts

CapacityCheck = Callable[..., bool]  # called as check(user_id=, facts=) -> True when the agent has room
_capacity_checks: dict[str, CapacityCheck] = {}


def register_capacity_check(name: str, check: CapacityCheck) -> None:
    _capacity_checks[name] = check


def has_room(*, user_id: int, facts: TicketFacts) -> bool:
    return all(check(user_id=user_id, facts=facts) for check in list(_capacity_checks.values()))
