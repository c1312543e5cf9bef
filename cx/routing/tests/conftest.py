"""Fixtures for routing tests: teams of agents with a status and a routing profile, rules, and tickets
opened the way customers and agents open them."""

from __future__ import annotations

import pytest

from cx.accounts.models import Role
from cx.accounts.services import team_add_member, team_create, user_set_status
from cx.customers.services import customer_create
from cx.routing.services import routing_profile_update, routing_rule_create
from cx.tickets.services import ticket_create_by_agent, ticket_open_by_customer


@pytest.fixture
def team(db):
    counter = {"n": 0}

    def _team(name: str | None = None):
        counter["n"] += 1
        return team_create(actor=None, name=name or f"Support {counter['n']}")

    return _team


@pytest.fixture
def agent(make_user, admin_user):
    """agent(team, status="online", capacity=None, skills=None, languages=None) -> User in that team."""

    def _agent(team=None, status: str = "online", capacity: int | None = None, skills: list[str] | None = None,
               languages: list[str] | None = None, username: str | None = None):
        user = make_user(Role.AGENT, username)
        if team is not None:
            team_add_member(actor=None, team=team, user=user)
        values = {k: v for k, v in {"capacity": capacity, "skills": skills, "languages": languages}.items()
                  if v is not None}
        if values:
            routing_profile_update(actor=admin_user, user_id=user.pk, values=values)
        if status != "offline":
            user_set_status(actor=user, status=status)
        return user

    return _agent


@pytest.fixture
def rule(admin_user):
    counter = {"n": 0}

    def _rule(team, **values):
        counter["n"] += 1
        values.setdefault("name", f"Rule {counter['n']}")
        values.setdefault("position", counter["n"])
        return routing_rule_create(actor=admin_user, values={"team_id": team.pk, **values})

    return _rule


@pytest.fixture
def customer(db):
    counter = {"n": 0}

    def _customer(language: str = "", organization_id: int | None = None):
        counter["n"] += 1
        return customer_create(actor=None, display_name=f"Customer {counter['n']}", language=language,
                               organization_id=organization_id,
                               identities=[{"kind": "email", "value": f"customer{counter['n']}@example.com"}])

    return _customer


@pytest.fixture
def customer_ticket(customer):
    """A ticket a customer opens by email (routed on creation)."""

    def _open(subject: str = "My card was declined", language: str = "", channel: str = "email",
              priority: str = "normal", requester=None):
        requester = requester or customer(language=language)
        return ticket_open_by_customer(requester=requester, subject=subject, body="Please help.", channel=channel,
                                       priority=priority).ticket

    return _open


@pytest.fixture
def agent_ticket(customer, admin_user):
    """A ticket an (offline, team-less) admin opens for a customer, e.g. after a phone call."""

    def _open(subject: str = "Phoned about an invoice", language: str = "", tags: list[str] | None = None,
              team_id: int | None = None, assignee_id: int | None = None):
        return ticket_create_by_agent(actor=admin_user, requester=customer(language=language), subject=subject,
                                      body="Called in.", tags=tags, team_id=team_id, assignee_id=assignee_id).ticket

    return _open
