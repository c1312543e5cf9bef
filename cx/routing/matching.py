"""Pure routing decisions: which rule matches a ticket, which agents qualify, in which order they are tried.

No Django here, so the rules of the game are tested on their own and the engine only feeds in facts
loaded from the database and applies the answer under locks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

ROUND_ROBIN = "round_robin"
LOAD_BALANCED = "load_balanced"
MANUAL = "manual"

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})*$")


def normalize_word(value: str) -> str:
    """Skills and tags share one spelling (lower case, words joined by '-') so a skill matches a tag."""
    return "-".join(value.strip().lower().split())


def normalize_language(value: str) -> str:
    """BCP 47-ish codes compared case-insensitively; '_' is accepted for '-' (es_MX)."""
    return value.strip().lower().replace("_", "-")


def is_language_code(value: str) -> bool:
    return bool(_LANGUAGE.match(value))


def language_matches(wanted: str, offered: Iterable[str]) -> bool:
    """'es' and 'es-mx' match each other (one is a subtag prefix of the other); 'es-mx' and 'es-ar' do not."""
    wanted = normalize_language(wanted)
    for code in offered:
        code = normalize_language(code)
        if code == wanted or wanted.startswith(f"{code}-") or code.startswith(f"{wanted}-"):
            return True
    return False


@dataclass(frozen=True)
class TicketFacts:
    """What rules look at."""

    channel: str
    priority: str
    language: str = ""
    tags: frozenset[str] = frozenset()
    organization_id: int | None = None
    team_id: int | None = None


@dataclass(frozen=True)
class RuleSpec:
    """A routing rule's conditions (an empty list means "any") and its action."""

    rule_id: int
    team_id: int
    method: str = ROUND_ROBIN
    channels: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()  # the ticket carries at least one of them
    languages: tuple[str, ...] = ()
    priorities: frozenset[str] = frozenset()
    organization_ids: frozenset[int] = frozenset()
    required_skills: frozenset[str] = frozenset()
    require_agent_language: bool = False


def rule_matches(rule: RuleSpec, ticket: TicketFacts) -> bool:
    if rule.channels and ticket.channel not in rule.channels:
        return False
    if rule.priorities and ticket.priority not in rule.priorities:
        return False
    if rule.tags and not rule.tags & ticket.tags:
        return False
    if rule.languages and not (ticket.language and language_matches(ticket.language, rule.languages)):
        return False
    return not (rule.organization_ids and ticket.organization_id not in rule.organization_ids)


def first_matching_rule(rules: Sequence[RuleSpec], ticket: TicketFacts) -> RuleSpec | None:
    """Rules in order; the first that matches wins. A ticket that already has a team (set by an agent or an
    earlier rule) is only routed by rules for that team: routing never moves it to another team."""
    for rule in rules:
        if ticket.team_id is not None and rule.team_id != ticket.team_id:
            continue
        if rule_matches(rule, ticket):
            return rule
    return None


@dataclass(frozen=True)
class Candidate:
    """An online member of the rule's team, with the load and profile routing needs."""

    user_id: int
    open_tickets: int
    capacity: int
    skills: frozenset[str] = frozenset()
    languages: tuple[str, ...] = ()
    last_routed_at: datetime | None = field(default=None, compare=False)

    @property
    def has_room(self) -> bool:
        return self.open_tickets < self.capacity


def eligible(candidates: Iterable[Candidate], *, rule: RuleSpec, ticket: TicketFacts) -> list[Candidate]:
    """Agents with room left, every required skill and, if the rule asks, the ticket's language."""
    wanted_language = ticket.language if rule.require_agent_language else ""
    return [
        c for c in candidates
        if c.has_room
        and rule.required_skills <= c.skills
        and (not wanted_language or language_matches(wanted_language, c.languages))
    ]


def round_robin_order(candidates: Iterable[Candidate], *, last_user_id: int | None) -> list[Candidate]:
    """Agents by id, starting with the first after the one who got the team's previous ticket."""
    ordered = sorted(candidates, key=lambda c: c.user_id)
    if last_user_id is None:
        return ordered
    after = [c for c in ordered if c.user_id > last_user_id]
    return after + [c for c in ordered if c.user_id <= last_user_id]


def load_balanced_order(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Fewest open tickets first; ties go to whoever was routed a ticket longest ago (never = first)."""
    def key(c: Candidate) -> tuple:
        routed = (0, 0.0) if c.last_routed_at is None else (1, c.last_routed_at.timestamp())
        return (c.open_tickets, routed, c.user_id)

    return sorted(candidates, key=key)


def candidate_order(candidates: Iterable[Candidate], *, method: str, last_user_id: int | None) -> list[Candidate]:
    if method == ROUND_ROBIN:
        return round_robin_order(candidates, last_user_id=last_user_id)
    if method == LOAD_BALANCED:
        return load_balanced_order(candidates)
    return []  # manual: the ticket waits in the team's queue
