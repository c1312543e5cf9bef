"""Fixtures for survey tests: customers with email, an agent's solved ticket, active surveys."""

from __future__ import annotations

import pytest

from cx.accounts.models import Role
from cx.customers.services import customer_create
from cx.surveys import services
from cx.tickets.models import StatusCategory
from cx.tickets.services import default_status, ticket_open_by_customer, ticket_update


@pytest.fixture
def customer(db):
    return customer_create(actor=None, display_name="Rita Requester", first_name="Rita",
                           identities=[{"kind": "email", "value": "rita@example.com"}])


@pytest.fixture
def make_customer(db):
    counter = {"n": 0}

    def _make(time_zone: str = ""):
        counter["n"] += 1
        n = counter["n"]
        return customer_create(actor=None, display_name=f"Customer {n}", time_zone=time_zone,
                               identities=[{"kind": "email", "value": f"c{n}@example.com"}])

    return _make


@pytest.fixture
def survey_admin(make_user):
    return make_user(Role.ADMIN, "sam")


@pytest.fixture
def make_survey(survey_admin):
    def _make(kind: str = "csat", *, trigger: str = "manual", activate: bool = True, **values):
        survey = services.survey_create(actor=survey_admin, values={"name": f"{kind} survey", "kind": kind,
                                                                     "trigger": trigger, **values})
        if activate:
            survey = services.survey_update(actor=survey_admin, survey=survey, values={"status": "active"})
        return survey

    return _make


@pytest.fixture
def no_quiet_hours(db):
    policy = services.policy_get()
    policy.quiet_start = policy.quiet_end
    policy.save()
    return policy


@pytest.fixture
def solve(agent_user):
    def _solve(ticket):
        ticket_update(actor=agent_user, ticket=ticket, changes={"assignee_id": agent_user.pk})
        ticket.refresh_from_db()
        ticket_update(actor=agent_user, ticket=ticket, changes={"status_id": default_status(StatusCategory.SOLVED).pk})
        ticket.refresh_from_db()
        return ticket

    return _solve


@pytest.fixture
def ticket_of(db):
    def _open(customer, subject="My card was declined"):
        return ticket_open_by_customer(requester=customer, subject=subject, body="Why was it declined?",
                                       channel="email").ticket

    return _open
