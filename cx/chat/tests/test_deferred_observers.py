"""A visitor's chat message stores and echoes at once; the ticket observers (SLA, notifications, webhooks,
automations...) and the journey touchpoint run after commit from the task queue, in batches, and in order
with the ticket's other changes. These tests prove they all still happen, through the widget's socket and
through the services."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from cx.accounts.models import User
from cx.chat import selectors
from cx.chat.models import ChatConversation, ChatVisitor
from cx.chat.services import chat_accept, chat_conversation_start, chat_visitor_message
from cx.chat.tests.test_consumers import _setup, _until, _visitor
from cx.journeys.models import Touchpoint
from cx.notifications.models import Notification, NotificationKind
from cx.sla.models import SlaClock, SlaMetric
from cx.sla.services import sla_policy_create
from cx.tickets import deferred, hooks
from cx.tickets.models import DeferredTicketChange, Message, Ticket
from cx.tickets.services import ticket_reply
from cx.webhooks.services import webhook_endpoint_create
from cx.webhooks.tests.conftest import receiver  # noqa: F401 - the real HTTP receiver fixture

TARGETS = [{"priority": p, "metric": m, "minutes": 30} for p in ("low", "normal", "high", "urgent")
           for m in ("first_response", "next_response", "resolution")]


def _configured_helpdesk(admin, receiver_url: str) -> None:
    sla_policy_create(actor=admin, values={"name": "Chat", "targets": TARGETS})
    webhook_endpoint_create(actor=admin, url=receiver_url, event_types=["ticket.customer_replied"])


def _start_and_answer(inbox, agent, token_visitor_id: int) -> ChatConversation:
    visitor = ChatVisitor.objects.get(pk=token_visitor_id)
    conversation = chat_conversation_start(visitor=visitor, fields={"name": "Lin", "email": "lin@example.com"},
                                           body="Is the Pro plan monthly?")
    chat_accept(actor=agent, conversation=conversation)
    ticket_reply(actor=agent, ticket=Ticket.objects.get(pk=conversation.ticket_id), body="Hi Lin, yes.")
    return conversation


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_message_over_the_socket_still_reaches_every_observer(receiver):  # noqa: F811
    inbox, agent, token, _cookie = await database_sync_to_async(_setup)()
    admin = await database_sync_to_async(User.objects.get)(username="boss")
    await database_sync_to_async(_configured_helpdesk)(admin, receiver.url)
    visitor_id = await database_sync_to_async(lambda: ChatVisitor.objects.get().pk)()
    conversation = await database_sync_to_async(_start_and_answer)(inbox, agent, visitor_id)

    socket = _visitor(inbox, token)
    assert (await socket.connect())[0]
    await _until(socket, "hello")
    before = timezone.now()
    await socket.send_json_to({"type": "message", "body": "And yearly?", "client_id": "m1"})
    assert (await _until(socket, "ack"))["client_id"] == "m1"  # the socket answers its frame first
    echo = await _until(socket, "message")
    assert echo["message"]["body"] == "And yearly?" and echo["message"]["author"] == "visitor"
    await socket.disconnect()

    def observed():
        message = Message.objects.get(body_text="And yearly?")
        clock = SlaClock.objects.get(ticket_sla__ticket_id=conversation.ticket_id, metric=SlaMetric.NEXT_RESPONSE)
        notification = Notification.objects.get(recipient=agent, kind=NotificationKind.CUSTOMER_REPLIED,
                                                ticket_id=conversation.ticket_id)
        touchpoint = Touchpoint.objects.get(kind="ticket.customer_replied",
                                            properties__message_id=message.pk)
        return message, clock, notification, touchpoint, DeferredTicketChange.objects.count()

    message, clock, notification, touchpoint, pending = await database_sync_to_async(observed)()
    assert pending == 0
    # SLA: the next-response clock started when the visitor wrote, with its due time.
    assert before - timedelta(seconds=1) <= clock.started_at <= message.created_at + timedelta(seconds=1)
    assert clock.achieved_at is None and clock.due_at == clock.started_at + timedelta(minutes=30)
    assert "And yearly?" in notification.body
    assert touchpoint.channel == "chat" and touchpoint.occurred_at <= timezone.now()
    # The webhook went out to the receiver.
    sent = [json.loads(r.body) for r in receiver.requests]
    assert [e["type"] for e in sent] == ["ticket.customer_replied"]
    assert sent[0]["data"]["message"]["body_text"] == "And yearly?"
    assert sent[0]["data"]["actor"]["type"] == "customer"


@pytest.mark.django_db
def test_an_agent_reply_runs_the_pending_message_observers_first(chat_inbox, online_agent, widget,
                                                                 django_capture_on_commit_callbacks, admin_user):
    sla_policy_create(actor=admin_user, values={"name": "Chat", "targets": TARGETS})
    agent = online_agent("sam")
    browser = widget(chat_inbox)
    browser.session()
    conversation = _start_and_answer(chat_inbox, agent, ChatVisitor.objects.get().pk)

    with django_capture_on_commit_callbacks(execute=False):  # the drain never runs
        message = chat_visitor_message(visitor=ChatVisitor.objects.get(), body="And yearly?")
    row = DeferredTicketChange.objects.get()
    assert (row.event, row.message_id, row.ticket_id) == ("customer_replied", message.pk, conversation.ticket_id)
    assert not SlaClock.objects.filter(metric=SlaMetric.NEXT_RESPONSE).exists()
    assert not Touchpoint.objects.filter(kind="ticket.customer_replied").exists()

    reply = ticket_reply(actor=agent, ticket=Ticket.objects.get(pk=conversation.ticket_id), body="Yearly too.")

    assert not DeferredTicketChange.objects.exists()
    clock = SlaClock.objects.get(metric=SlaMetric.NEXT_RESPONSE)
    # Started when the visitor wrote, achieved by the agent's reply that came after it: no false breach.
    assert clock.started_at == row.occurred_at
    assert clock.achieved_at == reply.created_at or abs(clock.achieved_at - reply.created_at) < timedelta(seconds=1)
    assert Touchpoint.objects.filter(kind="ticket.customer_replied", occurred_at=row.occurred_at).count() == 1


@pytest.mark.django_db
def test_with_the_database_backend_a_burst_of_messages_queues_one_batched_drain(
        chat_inbox, online_agent, widget, django_capture_on_commit_callbacks, admin_user, monkeypatch):
    monkeypatch.setattr(deferred, "_queued_until", 0.0)
    agent = online_agent("sam")
    widget(chat_inbox).session()
    conversation = _start_and_answer(chat_inbox, agent, ChatVisitor.objects.get().pk)
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
        for n in range(5):
            with django_capture_on_commit_callbacks(execute=True):
                chat_visitor_message(visitor=ChatVisitor.objects.get(), body=f"message {n}")
        queued = list(DBTaskResult.objects.filter(task_path__endswith="drain_deferred_ticket_changes"))
        assert len(queued) == 1  # one drain for the burst, due shortly after
        assert queued[0].run_after is not None and queued[0].run_after > timezone.now() - timedelta(seconds=1)
        assert DeferredTicketChange.objects.count() == 5

        from cx.tickets.tasks import drain_deferred_ticket_changes

        assert drain_deferred_ticket_changes.func() == 5
    assert not DeferredTicketChange.objects.exists()
    replied = Touchpoint.objects.filter(kind="ticket.customer_replied", properties__ticket_id=conversation.ticket_id)
    assert replied.count() == 5
    assert Notification.objects.filter(recipient=agent, kind=NotificationKind.CUSTOMER_REPLIED).count() == 5


@pytest.mark.django_db
def test_a_failing_observer_keeps_the_change_for_a_retry_then_gives_up(chat_inbox, online_agent, widget,
                                                                       django_capture_on_commit_callbacks,
                                                                       monkeypatch):
    agent = online_agent("sam")
    widget(chat_inbox).session()
    _start_and_answer(chat_inbox, agent, ChatVisitor.objects.get().pk)
    calls: list[str] = []

    def broken(change: hooks.TicketChange) -> None:
        calls.append(change.event)
        if change.event == "customer_replied":
            raise RuntimeError("observer down")

    monkeypatch.setitem(hooks._observers, "test-broken", broken)
    monkeypatch.setattr(deferred, "_attempts", {})
    with django_capture_on_commit_callbacks(execute=False):
        chat_visitor_message(visitor=ChatVisitor.objects.get(), body="first")
        chat_visitor_message(visitor=ChatVisitor.objects.get(), body="second")
    assert deferred.drain() == 0  # the first fails; the second waits behind it (same ticket, in order)
    assert DeferredTicketChange.objects.count() == 2
    for _ in range(deferred.MAX_ATTEMPTS - 1):
        deferred.drain()
    # Given up on the first after MAX_ATTEMPTS; the second one then failed once more and waits.
    assert DeferredTicketChange.objects.count() == 1
    assert calls.count("customer_replied") == deferred.MAX_ATTEMPTS + 1


@pytest.mark.django_db
def test_the_periodic_job_drains_what_no_task_picked_up(chat_inbox, online_agent, widget,
                                                        django_capture_on_commit_callbacks):
    agent = online_agent("sam")
    widget(chat_inbox).session()
    _start_and_answer(chat_inbox, agent, ChatVisitor.objects.get().pk)
    with django_capture_on_commit_callbacks(execute=False):  # as if the process died after commit
        chat_visitor_message(visitor=ChatVisitor.objects.get(), body="lost drain?")
    from cx.core.periodic import run_due_jobs

    assert "tickets.deferred_changes" in run_due_jobs(only={"tickets.deferred_changes"})
    assert not DeferredTicketChange.objects.exists()
    assert Touchpoint.objects.filter(kind="ticket.customer_replied").count() == 1


@pytest.mark.django_db
def test_the_hello_sends_the_latest_history_without_loading_all_of_it(chat_inbox, online_agent, widget,
                                                                      monkeypatch):
    agent = online_agent("sam")
    widget(chat_inbox).session()
    conversation = _start_and_answer(chat_inbox, agent, ChatVisitor.objects.get().pk)
    for n in range(6):
        chat_visitor_message(visitor=ChatVisitor.objects.get(), body=f"line {n}")
    monkeypatch.setattr(selectors, "HISTORY_LIMIT", 3)
    frame = selectors.conversation_frame(conversation=conversation, widget_key=chat_inbox.widget_key)
    assert [m["body"] for m in frame["messages"]] == ["line 3", "line 4", "line 5"]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_pings_write_last_seen_at_most_every_30_seconds():
    inbox, _agent, token, _cookie = await database_sync_to_async(_setup)()
    socket = _visitor(inbox, token)
    assert (await socket.connect())[0]
    await _until(socket, "hello")
    long_ago = timezone.now() - timedelta(minutes=5)
    await database_sync_to_async(lambda: ChatVisitor.objects.update(last_seen_at=long_ago))()
    await socket.send_json_to({"type": "ping"})
    assert (await _until(socket, "pong"))["type"] == "pong"
    # The connect wrote "seen" a moment ago: this ping costs no write.
    assert await database_sync_to_async(lambda: ChatVisitor.objects.get().last_seen_at)() == long_ago
    await socket.disconnect()


@pytest.mark.django_db
def test_a_trigger_acting_on_a_deferred_message_runs_once(chat_inbox, online_agent, widget, admin_user,
                                                          django_capture_on_commit_callbacks):
    from cx.automation.models import TriggerFiring
    from cx.automation.services import trigger_create

    trigger = trigger_create(actor=admin_user, values={
        "name": "Refund questions", "conditions": {"all": [{"field": "event", "op": "is", "value": "customer_replied"},
                                                            {"field": "channel", "op": "is", "value": "chat"}]},
        "actions": [{"type": "add_tags", "tags": ["refund"]}]})
    agent = online_agent("sam")
    widget(chat_inbox).session()
    conversation = _start_and_answer(chat_inbox, agent, ChatVisitor.objects.get().pk)
    with django_capture_on_commit_callbacks(execute=False):
        chat_visitor_message(visitor=ChatVisitor.objects.get(), body="I want a refund")
    assert not TriggerFiring.objects.exists()  # not yet: after commit

    assert deferred.drain() == 1
    # The trigger's own ticket change ran the ticket's pending changes: it did not find this one again.
    assert TriggerFiring.objects.filter(trigger=trigger).count() == 1
    ticket = Ticket.objects.get(pk=conversation.ticket_id)
    assert list(ticket.tags.values_list("name", flat=True)) == ["refund"]
    assert Touchpoint.objects.filter(kind="ticket.customer_replied").count() == 1
    assert not DeferredTicketChange.objects.exists()
