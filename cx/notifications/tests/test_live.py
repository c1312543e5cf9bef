"""Live notifications over the real ASGI application: after commit, to the recipient only."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction
from django.test import Client

from config.asgi import application
from cx.accounts.models import Role, User
from cx.accounts.services import user_create
from cx.notifications.models import NotificationKind
from cx.notifications.services import notify_agent

ORIGIN = (b"origin", b"http://testserver")


def _agent_with_cookie(username: str) -> tuple[int, bytes]:
    agent = user_create(actor=None, username=username, email=f"{username}@agents.example.test",
                        password="correct-horse-42", role=Role.AGENT)
    client = Client()
    client.force_login(agent)
    return agent.pk, f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def _notify(user_id: int, title: str, *, roll_back: bool = False) -> int:
    with transaction.atomic():
        notification = notify_agent(recipient=User.objects.get(pk=user_id), kind=NotificationKind.MENTIONED,
                                    title=title, url="/customers/")
        if roll_back:
            transaction.set_rollback(True)
    return notification.pk


@pytest.mark.asyncio
async def test_an_agent_gets_their_notification_live_after_commit(transactional_db):
    agent_id, cookie = await database_sync_to_async(_agent_with_cookie)("live-ann")
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=[ORIGIN, (b"cookie", cookie)])
    connected, _ = await communicator.connect()
    assert connected

    await database_sync_to_async(_notify)(agent_id, "rolled back", roll_back=True)
    assert await communicator.receive_nothing(timeout=0.3)

    notification_id = await database_sync_to_async(_notify)(agent_id, "Bea mentioned you on #9")
    event = await communicator.receive_json_from(timeout=5)

    assert event["type"] == "notification.created"
    assert event["payload"] == {"notification_id": notification_id, "kind": "mentioned",
                                "title": "Bea mentioned you on #9", "ticket_id": None, "url": "/customers/"}
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_nobody_hears_another_agents_notifications(transactional_db):
    _, cookie = await database_sync_to_async(_agent_with_cookie)("live-ann")
    other_id, _ = await database_sync_to_async(_agent_with_cookie)("live-ben")
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=[ORIGIN, (b"cookie", cookie)])
    connected, _ = await communicator.connect()
    assert connected

    await database_sync_to_async(_notify)(other_id, "For Ben only")

    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_anonymous_visitors_cannot_listen(transactional_db):
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=[ORIGIN])
    connected, code = await communicator.connect()
    assert not connected and code == 4401
