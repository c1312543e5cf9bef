"""The customer timeline WebSocket through the real ASGI application (origin check, session auth, routing)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction
from django.test import Client

from config.asgi import application
from cx.accounts.models import Role
from cx.accounts.services import user_create
from cx.customers.models import Customer
from cx.customers.services import customer_create
from cx.journeys.services import touchpoint_record

ORIGIN = (b"origin", b"http://testserver")


def _session_cookie_for_new_agent() -> bytes:
    agent = user_create(actor=None, username="live-agent", email="live@agents.example.test",
                        password="correct-horse-42", role=Role.AGENT)
    client = Client()
    client.force_login(agent)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def _record_and_commit(customer_id: int) -> int:
    with transaction.atomic():
        touchpoint = touchpoint_record(customer=Customer.objects.get(pk=customer_id), kind="call.completed",
                                       channel="phone", stage="support", source="tests")
    return touchpoint.pk


def _record_and_roll_back(customer_id: int) -> None:
    with transaction.atomic():
        touchpoint_record(customer=Customer.objects.get(pk=customer_id), kind="call.dropped", channel="phone",
                          stage="support", source="tests")
        transaction.set_rollback(True)


@pytest.mark.asyncio
async def test_agent_receives_a_touchpoint_after_it_commits(transactional_db):
    cookie = await database_sync_to_async(_session_cookie_for_new_agent)()
    customer = await database_sync_to_async(customer_create)(actor=None, display_name="Ada")
    communicator = WebsocketCommunicator(application, f"/ws/customers/{customer.pk}/timeline/",
                                         headers=[ORIGIN, (b"cookie", cookie)])
    connected, _ = await communicator.connect()
    assert connected

    await database_sync_to_async(_record_and_roll_back)(customer.pk)
    assert await communicator.receive_nothing(timeout=0.3)  # a rollback publishes nothing

    touchpoint_id = await database_sync_to_async(_record_and_commit)(customer.pk)
    event = await communicator.receive_json_from(timeout=5)

    assert event["type"] == "timeline.touchpoint_recorded"
    assert event["payload"]["customer_id"] == customer.pk
    assert event["payload"]["touchpoint_id"] == touchpoint_id
    assert event["payload"]["kind"] == "call.completed"
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_events_of_other_customers_are_not_delivered(transactional_db):
    cookie = await database_sync_to_async(_session_cookie_for_new_agent)()
    watched = await database_sync_to_async(customer_create)(actor=None, display_name="Watched")
    other = await database_sync_to_async(customer_create)(actor=None, display_name="Other")
    communicator = WebsocketCommunicator(application, f"/ws/customers/{watched.pk}/timeline/",
                                         headers=[ORIGIN, (b"cookie", cookie)])
    connected, _ = await communicator.connect()
    assert connected

    await database_sync_to_async(_record_and_commit)(other.pk)

    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_anonymous_visitor_is_rejected(transactional_db):
    customer = await database_sync_to_async(customer_create)(actor=None, display_name="Ada")
    communicator = WebsocketCommunicator(application, f"/ws/customers/{customer.pk}/timeline/", headers=[ORIGIN])

    connected, code = await communicator.connect()

    assert not connected
    assert code == 4401


@pytest.mark.asyncio
async def test_connections_from_foreign_origins_are_rejected(transactional_db):
    cookie = await database_sync_to_async(_session_cookie_for_new_agent)()
    communicator = WebsocketCommunicator(application, "/ws/customers/1/timeline/",
                                         headers=[(b"origin", b"https://evil.example"), (b"cookie", cookie)])
    connected, _ = await communicator.connect()
    assert not connected
