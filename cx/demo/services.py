"""Loading the demo company into the database through the other apps' public services only.

Idempotent: agents are found by username, teams and organisations by name, customers by their first
identity, touchpoints by ``(source="demo", external_id)``; what exists is skipped, so a second run adds
nothing. Each customer and its timeline are written in one transaction, so an interrupted run leaves
only whole customers behind and the next run completes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from cx.accounts.models import User
from cx.accounts.selectors import agent_by_username, team_list
from cx.accounts.services import team_add_member, team_create, user_create
from cx.churn.services import demo_seed as churn_demo_seed
from cx.clv.demo import clv_demo_seed
from cx.core.errors import Conflict
from cx.customers.models import Organization
from cx.customers.selectors import customer_find_by_identity, organization_list
from cx.customers.services import customer_create, organization_create
from cx.demo.catalog import DEMO_AGENT_EMAIL_DOMAIN, DEMO_AGENTS, DEMO_TEAMS
from cx.demo.generate import TOUCHPOINT_SOURCE, CustomerSpec, customer_specs, organization_specs
from cx.demo.texts import question_pool
from cx.insights.demo import demo_seed as insights_demo_seed
from cx.journeys.services import touchpoint_record
from cx.playbooks.demo import playbooks_demo_seed
from cx.tracking.demo import DEFAULT_PEOPLE, tracking_demo_load

# Printed at the end of `cxdesk demo`. Demo only: these accounts must never exist on a real installation.
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - a published demo credential, not a secret
DEFAULT_SEED = 2026
DEFAULT_CUSTOMERS = 3000
DEFAULT_ORGANIZATIONS = 100


@dataclass
class DemoResult:
    """What a demo run created and what it found already there."""

    seed: int
    data_dir: Path | None = None
    agents_created: int = 0
    teams_created: int = 0
    organizations_created: int = 0
    customers_created: int = 0
    customers_existing: int = 0
    customers_conflicting: int = 0  # an identity belongs to a customer that is not this demo customer
    touchpoints_created: int = 0
    journeys: dict[str, int] = field(default_factory=dict)  # tracked people and events (cx.tracking.demo)
    question_source: str = ""
    used_sample: bool = False  # no dataset was found in data_dir
    seconds: float = 0.0
    agents: list[User] = field(default_factory=list)


def demo_agents_ensure(*, password: str = DEMO_PASSWORD) -> tuple[list[User], int, int]:
    """The demo agents and their teams; returns (agents, agents created, teams created)."""
    agents: list[User] = []
    created_agents = 0
    with transaction.atomic():
        for username, first, last, role, _team, _lead in DEMO_AGENTS:
            agent = agent_by_username(username=username)
            if agent is None:
                agent = user_create(actor=None, username=username, email=f"{username}@{DEMO_AGENT_EMAIL_DOMAIN}",
                                    password=password, role=role, first_name=first, last_name=last)
                created_agents += 1
            agents.append(agent)
        teams = {team.name: team for team in team_list(actor=demo_reader(agents))}
        created_teams = 0
        for name, description in DEMO_TEAMS:
            if name not in teams:
                teams[name] = team_create(actor=None, name=name, description=description)
                created_teams += 1
        members = {(m.team_id, m.user_id) for team in teams.values() for m in team.memberships.all()}
        for agent, (_username, _first, _last, _role, team_name, is_lead) in zip(agents, DEMO_AGENTS, strict=True):
            team = teams[team_name]
            if (team.pk, agent.pk) not in members:
                team_add_member(actor=None, team=team, user=agent, is_lead=is_lead)
    return agents, created_agents, created_teams


def demo_reader(agents: list[User]) -> User:
    """The account the demo reads existing data as: any active demo agent will do (reads need no more)."""
    return next(agent for agent in reversed(agents) if agent.is_active)


def demo_organizations_ensure(*, reader: User, seed: int, count: int = DEFAULT_ORGANIZATIONS
                              ) -> tuple[dict[str, Organization], int]:
    """The demo organisations by name; returns (organisations, how many were created now)."""
    existing = {org.name.lower(): org for org in organization_list(actor=reader)}
    organizations: dict[str, Organization] = {}
    created = 0
    for spec in organization_specs(seed=seed, count=count):
        org = existing.get(spec.name.lower())
        if org is None:
            org = organization_create(actor=None, name=spec.name, domain=spec.domain, notes=spec.notes)
            created += 1
        organizations[spec.name] = org
    return organizations, created


@transaction.atomic
def demo_customer_load(*, spec: CustomerSpec, organizations: dict[str, Organization]) -> int:
    """Create one demo customer with its identities and timeline; returns the touchpoints written."""
    org = organizations[spec.organization] if spec.organization else None
    customer = customer_create(
        actor=None, first_name=spec.first_name, last_name=spec.last_name,
        organization_id=org.pk if org else None, language=spec.language, time_zone=spec.time_zone,
        notes=spec.notes,
        identities=[{"kind": i.kind, "value": i.value, "is_primary": i.is_primary} for i in spec.identities],
    )
    for tp in spec.touchpoints:
        touchpoint_record(customer=customer, kind=tp.kind, channel=tp.channel, stage=tp.stage,
                          occurred_at=tp.occurred_at, properties=tp.properties, source=TOUCHPOINT_SOURCE,
                          external_id=tp.external_id)
    return len(spec.touchpoints)


def demo_load(*, customers: int = DEFAULT_CUSTOMERS, seed: int = DEFAULT_SEED, data_dir: Path | None,
              now: datetime | None = None, progress: Callable[[int], None] | None = None,
              journeys: int = DEFAULT_PEOPLE) -> DemoResult:
    """Load (or complete) the demo company. ``progress`` is called with 1 after each customer."""
    started = time.perf_counter()
    result = DemoResult(seed=seed, data_dir=data_dir)
    pool = question_pool(data_dir)
    result.question_source = pool.describe()
    result.used_sample = pool.used_sample
    agents, result.agents_created, result.teams_created = demo_agents_ensure()
    result.agents = agents
    with transaction.atomic():
        organizations, result.organizations_created = demo_organizations_ensure(reader=demo_reader(agents), seed=seed)
    specs = customer_specs(seed=seed, count=customers, organizations=organization_specs(seed=seed),
                           questions=pool.questions, now=now or timezone.now())
    for spec in specs:
        key = spec.key_identity
        if customer_find_by_identity(kind=key.kind, value=key.value) is not None:
            result.customers_existing += 1
        else:
            try:
                result.touchpoints_created += demo_customer_load(spec=spec, organizations=organizations)
                result.customers_created += 1
            except Conflict:
                result.customers_conflicting += 1
        if progress is not None:
            progress(1)
    result.journeys = tracking_demo_load(people=journeys, seed=seed, now=now or timezone.now())
    insights_demo_seed(now=now or timezone.now(), seed=seed, tickets=min(150, customers // 20))  # Insights history
    clv_demo_seed()  # before churn: spend is one of its features
    churn_demo_seed(now=now)  # trains the churn model on the demo customers and scores them
    playbooks_demo_seed(agents=agents)
    result.seconds = time.perf_counter() - started
    return result
