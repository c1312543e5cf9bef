"""Collision detection on the ticket page through the real ASGI application (origin check, session auth,
routing): who else is viewing, who is typing, and live ticket changes."""

from __future__ import annotations

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections, transaction
from django.test import Client

from config.asgi import application
from cx.accounts.models import Role
from cx.accounts.services import team_add_member, team_create, user_create
from cx.customers.services import customer_create
from cx.tickets.models import Ticket
from cx.tickets.services import ticket_open_by_customer, ticket_statuses_ensure_defaults, ticket_update

ORIGIN = (b"origin", b"http://testserver")


@pytest_asyncio.fixture(autouse=True)
async def _close_worker_connections(transactional_db):
    """The ORM work of these tests runs in Channels' worker thread; close its connection so the PostgreSQL
    test database can be dropped at the end."""
    yield
    await database_sync_to_async(connections.close_all)()


def _agent(username: str, first_name: str, role: str = Role.AGENT):
    return user_create(actor=None, username=username, email=f"{username}@agents.example.test",
                       password="correct-horse-42", role=role, first_name=first_name)


def _cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def _ticket() -> Ticket:
    ticket_statuses_ensure_defaults()  # transactional tests flush the statuses the migration created
    customer = customer_create(actor=None, display_name="Presence Paula")
    return ticket_open_by_customer(requester=customer, subject="Who is here?", body="Hello", channel="email").ticket


def _setup() -> dict:
    ana, bo = _agent("ana", "Ana"), _agent("bo", "Bo")
    return {"ana": _cookie_for(ana), "bo": _cookie_for(bo), "ticket": _ticket(), "bo_user": bo}


async def _join(ticket_id: int, cookie: bytes | None) -> WebsocketCommunicator:
    headers = [ORIGIN] + ([(b"cookie", cookie)] if cookie else [])
    return WebsocketCommunicator(application, f"/ws/tickets/{ticket_id}/", headers=headers)


async def _presence(communicator: WebsocketCommunicator) -> list[str]:
    event = await communicator.receive_json_from(timeout=5)
    assert event["type"] == "ticket.presence"
    return [viewer["name"] for viewer in event["payload"]["viewers"]]


@pytest.mark.asyncio
async def test_second_agent_sees_the_first_and_their_typing(transactional_db):
    data = await database_sync_to_async(_setup)()
    ticket_id = data["ticket"].pk
    ana = await _join(ticket_id, data["ana"])
    assert (await ana.connect())[0]
    assert await _presence(ana) == []  # alone on the ticket

    bo = await _join(ticket_id, data["bo"])
    assert (await bo.connect())[0]
    seen_by_bo = await _presence(bo)
    while seen_by_bo != ["Ana"]:  # Bo's first snapshot may come before Ana's answer arrives
        seen_by_bo = await _presence(bo)
    assert await _presence(ana) == ["Bo"]

    await bo.send_json_to({"type": "typing"})
    typing = await ana.receive_json_from(timeout=5)
    assert typing == {"version": 1, "type": "ticket.typing",
                      "payload": {"ticket_id": ticket_id, "user_id": data["bo_user"].pk, "name": "Bo"}}
    await bo.send_json_to({"type": "typing"})  # throttled: a burst of keystrokes is one message
    assert await ana.receive_nothing(timeout=0.3)
    assert await bo.receive_nothing(timeout=0.1)  # nobody hears their own typing

    await bo.disconnect()
    assert await _presence(ana) == []
    await ana.disconnect()


@pytest.mark.asyncio
async def test_one_agent_in_two_tabs_is_listed_once_and_never_sees_themselves(transactional_db):
    data = await database_sync_to_async(_setup)()
    ticket_id = data["ticket"].pk
    first = await _join(ticket_id, data["ana"])
    await first.connect()
    await _presence(first)
    second = await _join(ticket_id, data["ana"])
    await second.connect()
    assert await _presence(second) == []
    assert await _presence(second) == []  # after the first tab answered
    assert await first.receive_json_from(timeout=5) == {
        "version": 1, "type": "ticket.presence", "payload": {"ticket_id": ticket_id, "viewers": []}}
    await first.disconnect()
    await second.disconnect()


def _change_and_commit(ticket_id: int, agent) -> None:
    with transaction.atomic():
        ticket_update(actor=agent, ticket=Ticket.objects.get(pk=ticket_id), changes={"priority": "urgent"})


@pytest.mark.asyncio
async def test_ticket_changes_reach_the_open_page_after_commit(transactional_db):
    data = await database_sync_to_async(_setup)()
    ticket_id = data["ticket"].pk
    page = await _join(ticket_id, data["ana"])
    await page.connect()
    await _presence(page)
    await database_sync_to_async(_change_and_commit)(ticket_id, data["bo_user"])
    event = await page.receive_json_from(timeout=5)
    assert event["type"] == "ticket.changed" and event["payload"]["ticket_id"] == ticket_id
    await page.disconnect()


def _restricted_ticket() -> dict:
    data = _setup()
    hr = team_create(actor=None, name="HR", is_restricted=True)
    member = _agent("hr-member", "Hana")
    team_add_member(actor=None, team=hr, user=member)
    ticket_update(actor=member, ticket=data["ticket"], changes={"team_id": hr.pk})
    return {**data, "member": _cookie_for(member)}


@pytest.mark.asyncio
async def test_only_agents_who_may_see_the_ticket_can_join(transactional_db):
    data = await database_sync_to_async(_restricted_ticket)()
    ticket_id = data["ticket"].pk
    outsider = await _join(ticket_id, data["ana"])
    connected, code = await outsider.connect()
    assert not connected and code == 4404
    anonymous = await _join(ticket_id, None)
    connected, code = await anonymous.connect()
    assert not connected and code == 4401
    missing = await _join(999999, data["ana"])
    assert not (await missing.connect())[0]
    member = await _join(ticket_id, data["member"])
    assert (await member.connect())[0]
    await member.disconnect()


@pytest.mark.asyncio
async def test_the_queue_socket_relays_ticket_changes(transactional_db):
    data = await database_sync_to_async(_setup)()
    queues = WebsocketCommunicator(application, "/ws/tickets/queues/", headers=[ORIGIN, (b"cookie", data["ana"])])
    assert (await queues.connect())[0]
    await database_sync_to_async(_change_and_commit)(data["ticket"].pk, data["bo_user"])
    event = await queues.receive_json_from(timeout=5)
    assert event["type"] == "ticket.changed" and event["payload"]["ticket_id"] == data["ticket"].pk
    await queues.disconnect()
    anonymous = WebsocketCommunicator(application, "/ws/tickets/queues/", headers=[ORIGIN])
    assert not (await anonymous.connect())[0]
