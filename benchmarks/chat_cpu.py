"""CPU cost of one chat message on the web process's hot path (issue 5 follow-up), measured in-process.

Wall-clock load tests are distorted on a shared machine; CPU time per message is not (much). This script
runs the real ASGI application (config.asgi, Channels' in-memory layer, SQLite file in WAL mode like
`cxdesk run`) in one process, with no network: N visitors open the widget socket through Channels'
communicator, start a chat (an agent accepts and answers each, so the SLA's next-response clock and the
notification paths run as in real chats), then each sends messages and waits for its echo. It reports
``time.process_time()`` (all threads of the process: the event loop and Channels' database thread) per
message for:

- the web process's part (socket frame in → stored → pushed back), with tasks left queued, as a web process
  leaves them for `cxdesk worker`;
- the deferred part (running the queued tasks: ticket observers, touchpoints, webhooks...), measured apart.

With ``--profile`` it then sends more messages through the consumer's database function directly on the main
thread under cProfile (Channels runs it on a worker thread, which cProfile does not see) and prints the
functions with the most cumulative time.
The optional ``--features`` adds what a configured helpdesk has: an SLA policy with chat targets, a webhook
endpoint subscribed to every ticket event, an active trigger, a follower on each ticket.

    .venv/bin/python benchmarks/chat_cpu.py --visitors 20 --messages 10
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# benchmarks/email.py would hide the standard library's email package when this folder comes first.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SITE = "https://shop.example.com"


def _environment(home: Path) -> None:
    os.environ.update({"CXDESK_HOME": str(home), "DJANGO_SETTINGS_MODULE": "config.settings",
                       "CXDESK_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
                       "CXDESK_LOG_LEVEL": "WARNING", "CXDESK_TASKS": "database"})
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(REPO))


def _setup(visitors: int, features: bool) -> tuple[str, list[str], object]:
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", interactive=False, verbosity=0)
    from cx.accounts.models import Role
    from cx.accounts.services import user_create, user_set_status
    from cx.chat.services import chat_inbox_create

    admin = user_create(actor=None, username="bench-admin", email="bench-admin@example.test", password=None,
                        role=Role.ADMIN)
    inbox = chat_inbox_create(actor=admin, values={"name": "Bench", "agent_chat_limit": 20}).inbox
    agent = user_create(actor=None, username="bench-agent", email="bench-agent@example.test", password=None,
                        role=Role.AGENT, first_name="Bench")
    user_set_status(actor=agent, status="online")
    if features:
        _features(admin)
    tokens = []
    client = Client()
    for n in range(visitors):
        response = client.post(f"/chat/widget/{inbox.widget_key}/session",
                               data=json.dumps({"page_url": f"{SITE}/p/{n}", "page_title": f"Page {n}"}),
                               content_type="application/json", headers={"Origin": SITE})
        tokens.append(response.json()["visitor_token"])
    return inbox.widget_key, tokens, agent


def _features(admin) -> None:
    from cx.automation.services import trigger_create
    from cx.sla.services import sla_policy_create
    from cx.webhooks.services import webhook_endpoint_create

    sla_policy_create(actor=admin, values={
        "name": "Chat", "channels": ["chat"],
        "targets": [{"priority": p, "metric": m, "minutes": 5}
                    for p in ("low", "normal", "high", "urgent") for m in ("first_response", "next_response",
                                                                             "resolution")]})
    webhook_endpoint_create(actor=admin, url="http://127.0.0.1:9/hook",
                            event_types=["ticket.created", "ticket.customer_replied", "ticket.replied",
                                         "ticket.updated"])
    trigger_create(actor=admin, values={
        "name": "Tag refunds", "conditions": {"all": [{"field": "subject", "op": "contains", "value": "refund"}]},
        "actions": [{"type": "add_tags", "tags": ["refund"]}]})


async def _echo(communicator, body: str) -> None:
    await communicator.send_json_to({"type": "message", "body": body})
    while True:
        frame = await communicator.receive_json_from(timeout=30)
        if frame.get("type") == "message" and frame["message"]["body"] == body:
            return


async def _run(key: str, tokens: list[str], agent, messages: int, profile: cProfile.Profile | None) -> dict:
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator

    from config.asgi import application
    from cx.chat.models import ChatConversation
    from cx.chat.services import chat_accept
    from cx.tickets.services import ticket_reply

    sockets = []
    for token in tokens:
        communicator = WebsocketCommunicator(application, f"/ws/chat/visitor/{key}/?token={token}",
                                             headers=[(b"origin", SITE.encode())])
        connected, _ = await communicator.connect(timeout=30)
        assert connected
        await communicator.receive_json_from(timeout=30)  # hello
        sockets.append(communicator)
    t0 = time.process_time()
    for n, communicator in enumerate(sockets):
        await communicator.send_json_to({"type": "start", "fields": {"name": f"Visitor {n}",
                                                                      "email": f"v{n}@bench.example.com"},
                                         "body": f"hello from {n}"})
        while (await communicator.receive_json_from(timeout=30)).get("type") != "ack":
            pass
    start_cpu = (time.process_time() - t0) / len(sockets)

    @database_sync_to_async
    def answer_all() -> None:
        for n, conversation in enumerate(ChatConversation.objects.select_related("ticket", "inbox", "visitor")):
            if n < 20:  # the inbox's concurrent chat limit; the agent answers the others without accepting
                chat_accept(actor=agent, conversation=conversation)
            ticket_reply(actor=agent, ticket=conversation.ticket, body="Hi, how can I help?")

    await answer_all()
    await asyncio.sleep(0.2)
    for communicator in sockets:  # drain the status/agent frames
        while not await communicator.receive_nothing(timeout=0.05):
            await communicator.receive_output(timeout=1)
    t0, w0 = time.process_time(), time.perf_counter()
    sent = 0
    for round_ in range(messages):
        await asyncio.gather(*(_echo(c, f"v{n} message {round_} about my order") for n, c in enumerate(sockets)))
        sent += len(sockets)
    cpu = time.process_time() - t0
    wall = time.perf_counter() - w0
    for communicator in sockets:
        await communicator.disconnect()
    return {"messages": sent, "cpu_ms": cpu * 1000 / sent, "wall_ms": wall * 1000 / sent,
            "start_cpu_ms": start_cpu * 1000}


def _profile_handle(profile: cProfile.Profile, messages: int) -> None:
    from cx.chat import consumers
    from cx.chat.models import ChatVisitor

    handle = consumers._handle.func  # the sync function Channels runs on its database thread
    for visitor_id in ChatVisitor.objects.order_by("pk").values_list("pk", flat=True):
        for round_ in range(messages):
            profile.enable()
            handle(visitor_id, "message", {"type": "message", "body": f"profiled {round_}"})
            profile.disable()


def _run_queued_tasks() -> tuple[int, float]:
    """Run what the web process queued (as `cxdesk worker` would); returns (tasks, CPU seconds)."""
    from django_tasks_db.models import DBTaskResult

    t0 = time.process_time()
    count = 0
    while True:
        batch = list(DBTaskResult.objects.ready().order_by("enqueued_at")[:100])
        if not batch:
            break
        for row in batch:
            row.claim("bench")
            task = row.task
            try:
                task.func(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])
                row.set_successful(None)
            except Exception as exc:
                row.set_failed(exc)
                raise
            count += 1
    return count, time.process_time() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10, help="messages per visitor")
    parser.add_argument("--features", action="store_true",
                        help="add an SLA policy, a webhook endpoint and a trigger (a configured helpdesk)")
    parser.add_argument("--profile", action="store_true", help="print the top cProfile entries")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="cxdesk-chat-cpu-"))
    _environment(home)
    import django

    django.setup()
    try:
        key, tokens, agent = _setup(args.visitors, args.features)
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.all().delete()
        profile = cProfile.Profile() if args.profile else None
        result = asyncio.run(_run(key, tokens, agent, args.messages, profile))
        tasks, task_cpu = _run_queued_tasks()
        if profile is not None:
            _profile_handle(profile, args.messages)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    deferred_ms = task_cpu * 1000 / result["messages"]
    print(f"\nchat CPU per message: {args.visitors} visitors x {args.messages} messages, SQLite, in-memory layer, "
          f"features {'on' if args.features else 'off'}\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| messages | {result['messages']} |")
    print(f"| web process CPU per message (frame in → stored → echoed) | {result['cpu_ms']:.2f} ms |")
    print(f"| wall per message (sequential rounds of {args.visitors}) | {result['wall_ms']:.2f} ms |")
    print(f"| queued tasks after the run / their CPU per message | {tasks} / {deferred_ms:.2f} ms |")
    print(f"| chat start CPU (pre-chat form + first message) | {result['start_cpu_ms']:.2f} ms |")
    if profile is not None:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(45)
        print(out.getvalue(), file=sys.stderr)
    print(f"messages={result['messages']} cpu_ms_per_message={result['cpu_ms']:.2f} "
          f"deferred_cpu_ms_per_message={deferred_ms:.2f} tasks={tasks} start_cpu_ms={result['start_cpu_ms']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
