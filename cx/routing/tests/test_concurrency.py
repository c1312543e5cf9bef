"""Concurrent ticket creations never push an agent over capacity: real threads, real transactions.

Both transactions are held at the point where they have read the agents' loads (a barrier), so without
the row locks both would see an empty agent and both would assign. On PostgreSQL the agent's profile row
lock decides (the two tickets go to different teams, so different round-robin cursors); on SQLite writers
are serialised by the database itself."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest
from django.db import OperationalError, connection

from cx.accounts.models import Role
from cx.accounts.services import team_add_member, team_create, user_create, user_set_status
from cx.customers.services import customer_create
from cx.routing import engine, selectors
from cx.routing.services import routing_profile_update, routing_rule_create
from cx.tickets.models import Ticket
from cx.tickets.services import ticket_create_by_agent, ticket_statuses_ensure_defaults

LANGUAGES = ("fr", "de")  # one rule per team, told apart by the requester's language


def _run_concurrently(work, count: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def runner(index: int) -> None:
        try:
            work(index)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creations_do_not_both_go_to_an_agent_with_room_for_one(monkeypatch):
    ticket_statuses_ensure_defaults()  # transactional tests flush the rows migration 0002 seeded
    admin = user_create(actor=None, username="root", email="root@agents.example.test", password=None, role=Role.ADMIN)
    solo = user_create(actor=None, username="solo", email="solo@agents.example.test", password=None)
    # Two teams, so the tickets take different round-robin cursors and only the agent's own lock protects her.
    teams = [team_create(actor=None, name=f"Team {i}") for i in range(2)]
    for index, team in enumerate(teams):
        team_add_member(actor=None, team=team, user=solo)
        routing_rule_create(actor=admin, values={"name": f"Rule {index}", "team_id": team.pk, "position": index,
                                                 "languages": [LANGUAGES[index]]})
    routing_profile_update(actor=admin, user_id=solo.pk, values={"capacity": 1})
    user_set_status(actor=solo, status="online")
    requesters = [customer_create(actor=None, display_name=f"C{i}", language=LANGUAGES[i]) for i in range(2)]
    engine.routing_actor()

    barrier = threading.Barrier(2)
    real_candidates = selectors.team_routing_candidates

    def candidates_then_wait(*, team_id: int):
        found = real_candidates(team_id=team_id)
        # Both have read "solo has 0 open tickets" before either goes on. When the other transaction is
        # waiting for our write lock instead (SQLite), the barrier breaks and we carry on alone.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        return found

    monkeypatch.setattr(selectors, "team_routing_candidates", candidates_then_wait)

    def create(index: int) -> None:
        for _attempt in range(100):
            try:
                ticket_create_by_agent(actor=admin, requester=requesters[index], subject=f"Ticket {index}",
                                       body="Hello")
                return
            except OperationalError as exc:
                # The in-memory SQLite test database refuses a second writer at once instead of waiting
                # like the server's file database does (busy timeout): wait and try the whole write again.
                if "locked" not in str(exc):
                    raise
                time.sleep(0.05)
        raise AssertionError("the database stayed locked")

    assert _run_concurrently(create, 2) == []

    tickets = list(Ticket.objects.order_by("pk"))
    assert len(tickets) == 2
    assert sorted(t.team_id for t in tickets) == sorted(t.pk for t in teams)
    assert sum(t.assignee_id == solo.pk for t in tickets) == 1
