"""Live chat under load (issue 5): N concurrent widget WebSockets against `cxdesk run` on 127.0.0.1.

What it does:
1. starts `cxdesk run` (daphne + task worker + scheduler, the embedded defaults: SQLite in WAL mode, the
   in-memory channel layer; `--database-url` for PostgreSQL) in a throwaway CXDESK_HOME on a free port;
2. creates a chat inbox and an online agent (the ORM on the same database);
3. opens N visitors the way the widget does: POST /chat/widget/<key>/session, then the WebSocket with the
   visitor token; each starts a chat (a ticket with channel chat) — connections ramp up over `--ramp` s;
4. for `--duration` s each visitor sends a message every `--interval` s (with jitter) and waits for it to
   come back as the server's `message` frame (the widget's echo: written as a ticket customer reply, pushed
   after commit through the channel layer); meanwhile one agent answers random chats through the REST API
   every `--agent-interval` s and the visitors time the agent's reply from the API call to their socket;
5. prints a table (latencies p50/p95/p99, counts, errors by cause) and a last line of key=value figures,
   including the server's CPU time per visitor message (web processes and task worker apart, read from
   /proc for every process of `cxdesk run` over the messaging phase): on a shared machine wall-clock
   latencies are distorted, CPU per message much less.

`--web-processes N` starts N daphne processes on the one port (CXDESK_WEB_PROCESSES; needs `--redis-url`).

Bounded: every wait has a timeout, the run stops by itself after ramp + duration + drain, and the server is
stopped at the end. Only 127.0.0.1 is contacted.

    .venv/bin/python benchmarks/chat.py --visitors 500 --duration 60
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# benchmarks/email.py is named as the issue asks; run as a script, this folder comes first on sys.path and
# would hide the standard library's email package (imported by http.client and Django), so drop it.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SITE = "https://shop.example.com"
TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("cxdesk run exited early (see its log)")
        try:  # HTTP, not a bare connect: `cxdesk run` listens on the port before daphne is up
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=30).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"cxdesk run did not listen on {port} within {timeout:.0f} s")


@dataclass
class Stats:
    echo_ms: list[float] = field(default_factory=list)
    steady_echo_ms: list[float] = field(default_factory=list)  # messages sent once every chat had started
    steady_from: float = float("inf")  # perf_counter() when the ramp (the burst of chat starts) was over
    reply_ms: list[float] = field(default_factory=list)
    sent: int = 0
    connected: int = 0
    started: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    cpu_start: dict[str, float] = field(default_factory=dict)
    cpu_end: dict[str, float] = field(default_factory=dict)
    stored_start: int = 0
    stored_end: int = 0

    def echoed(self, sent_at: float) -> None:
        self.echo_ms.append((time.perf_counter() - sent_at) * 1000)
        if sent_at >= self.steady_from:
            self.steady_echo_ms.append(self.echo_ms[-1])

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


def _setup(env: dict[str, str]) -> tuple[str, str]:
    """Inbox and online agent, written with the ORM to the server's database; returns (widget key, token)."""
    os.environ.update(env)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from cx.accounts.models import Role
    from cx.accounts.services import api_token_create, user_create, user_set_status
    from cx.chat.services import chat_inbox_create

    admin = user_create(actor=None, username="bench-admin", email="bench-admin@example.test", password=None,
                        role=Role.ADMIN)
    inbox = chat_inbox_create(actor=admin, values={"name": "Bench", "agent_chat_limit": 20}).inbox
    agent = user_create(actor=None, username="bench-agent", email="bench-agent@example.test", password=None,
                        role=Role.AGENT, first_name="Bench")
    user_set_status(actor=agent, status="online")
    token = api_token_create(actor=agent, name="bench", scope="write").plaintext
    from django.db import connections

    connections.close_all()
    return inbox.widget_key, token


def _post(url: str, data: dict, headers: dict[str, str]) -> dict:
    request = urllib.request.Request(url, method="POST", data=json.dumps(data).encode(),
                                     headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.loads(response.read())


async def _visitor(n: int, base: str, key: str, stats: Stats, stop_at: float, interval: float,
                   reply_sent: dict[str, float]) -> None:
    from websockets.asyncio.client import connect

    try:
        session = await asyncio.to_thread(_post, f"{base}/chat/widget/{key}/session",
                                          {"page_url": f"{SITE}/p/{n}", "page_title": f"Page {n}"},
                                          {"Origin": SITE})
    except urllib.error.HTTPError as exc:
        stats.error(f"session_http_{exc.code}")
        return
    except Exception as exc:
        stats.error(f"session_{_cause(exc)}")
        return
    url = f"{base.replace('http', 'ws', 1)}{session['socket_path']}?token={session['visitor_token']}"
    opened = False
    try:
        async with connect(url, origin=SITE, open_timeout=TIMEOUT, ping_interval=None, max_queue=None) as ws:
            opened = True
            stats.connected += 1
            waiting: dict[str, float] = {}

            async def reader() -> None:
                async for raw in ws:
                    frame = json.loads(raw)
                    kind = frame.get("type")
                    if kind == "status" and frame["conversation"].get("messages") is not None:
                        stats.started += 1
                        first = frame["conversation"]["messages"][0]["body"]
                        if first in waiting:
                            stats.echoed(waiting.pop(first))
                    elif kind == "message":
                        body = frame["message"]["body"]
                        if frame["message"]["author"] == "visitor" and body in waiting:
                            stats.echoed(waiting.pop(body))
                        elif frame["message"]["author"] == "agent" and body in reply_sent:
                            stats.reply_ms.append((time.perf_counter() - reply_sent.pop(body)) * 1000)
                    elif kind == "error":
                        stats.error(f"frame:{frame.get('code')}")
            read_task = asyncio.create_task(reader())
            body = f"v{n} hello {time.time_ns()}"
            waiting[body] = time.perf_counter()
            await ws.send(json.dumps({"type": "start", "fields": {"name": f"Visitor {n}",
                                                                    "email": f"v{n}@bench.example.com"},
                                      "body": body}))
            stats.sent += 1
            await asyncio.sleep(random.uniform(0, interval))
            while time.monotonic() < stop_at:
                body = f"v{n} msg {time.time_ns()}"
                waiting[body] = time.perf_counter()
                await ws.send(json.dumps({"type": "message", "body": body}))
                stats.sent += 1
                await asyncio.sleep(interval * random.uniform(0.8, 1.2))
            await asyncio.sleep(3)  # let the last echoes arrive
            lost = [b for b, t in waiting.items() if time.perf_counter() - t > 10]
            for _ in lost:
                stats.error("no_echo_within_10s")
            read_task.cancel()
    except Exception as exc:  # connection refused, closed by the server, timeouts
        stats.error(f"{'dropped' if opened else 'handshake'}_{_cause(exc)}")


def _cause(exc: BaseException) -> str:
    """A short name for why a connection failed: refused, timeout, reset, http_<status>, closed_<code>."""
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    if isinstance(exc, InvalidStatus):
        return f"http_{exc.response.status_code}"
    if isinstance(exc, ConnectionClosed):
        return f"closed_{exc.rcvd.code if exc.rcvd else 'without_close_frame'}"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, urllib.error.URLError):
        return _cause(exc.reason) if isinstance(exc.reason, BaseException) else "url_error"
    return type(exc).__name__


def _stored_messages() -> int:
    """Ticket messages in the server's database (visitors', agents', chat starts): the work actually done."""
    from django.db import connection

    from cx.tickets.models import Message

    try:
        return Message.objects.count()
    finally:
        connection.close()


def _cpu_seconds(session_id: int) -> dict[str, float]:
    """CPU seconds (user + system) so far of every process in the server's session, by kind."""
    tick = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) != session_id:  # field 6 of stat: the session id
            continue
        kind = next((k for k in ("daphne", "db_worker", "scheduler") if k in cmdline), "other")
        totals[kind] = totals.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return totals


def _agent_reply(base: str, token: str, ticket_id: int, body: str) -> None:
    _post(f"{base}/api/v1/tickets/{ticket_id}/messages", {"body": body, "visibility": "public"},
          {"Authorization": f"Bearer {token}"})


def _ticket_ids(base: str, token: str) -> list[int]:
    request = urllib.request.Request(f"{base}/api/v1/chat/queue", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        queue = json.loads(response.read())
    return [c["ticket_id"] for c in queue["waiting"] + queue["mine"] + queue["others"]]


async def _agent(base: str, token: str, stats: Stats, stop_at: float, interval: float,
                 reply_sent: dict[str, float]) -> None:
    await asyncio.sleep(5)
    tickets: list[int] = []
    while time.monotonic() < stop_at:
        try:
            if not tickets or random.random() < 0.05:
                tickets = await asyncio.to_thread(_ticket_ids, base, token)
            if tickets:
                body = f"agent reply {time.time_ns()}"
                reply_sent[body] = time.perf_counter()
                await asyncio.to_thread(_agent_reply, base, token, random.choice(tickets), body)
        except Exception:
            stats.error("agent_api")
        await asyncio.sleep(interval)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _load(base: str, key: str, token: str, args: argparse.Namespace, session_id: int) -> Stats:
    stats = Stats()
    stop_at = time.monotonic() + args.ramp + args.duration
    reply_sent: dict[str, float] = {}
    tasks = [asyncio.create_task(_agent(base, token, stats, stop_at, args.agent_interval, reply_sent))]
    for n in range(args.visitors):
        tasks.append(asyncio.create_task(_visitor(n, base, key, stats, stop_at, args.interval, reply_sent)))
        await asyncio.sleep(args.ramp / args.visitors)
    await asyncio.sleep(max(0.0, args.ramp * 0.1))  # the last chat starts
    stats.steady_from = time.perf_counter()
    stats.cpu_start, stats.stored_start = _cpu_seconds(session_id), await asyncio.to_thread(_stored_messages)
    await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
    stats.cpu_end, stats.stored_end = _cpu_seconds(session_id), await asyncio.to_thread(_stored_messages)
    await asyncio.wait_for(asyncio.gather(*tasks), args.ramp + args.duration + 120)
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=500)
    parser.add_argument("--duration", type=float, default=60, help="seconds of messaging after the ramp-up")
    parser.add_argument("--ramp", type=float, default=30, help="seconds over which visitors connect")
    parser.add_argument("--interval", type=float, default=10, help="seconds between one visitor's messages")
    parser.add_argument("--agent-interval", type=float, default=0.5, help="seconds between the agent's replies")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite under CXDESK_HOME)")
    parser.add_argument("--redis-url", default="", help="Redis channel layer (needed for --web-processes > 1)")
    parser.add_argument("--web-processes", type=int, default=1, help="daphne processes (CXDESK_WEB_PROCESSES)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="cxdesk-chat-bench-"))
    port = _free_port()
    env = {**os.environ, "CXDESK_HOME": str(home), "DJANGO_SETTINGS_MODULE": "config.settings",
           "CXDESK_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
           "CXDESK_BASE_URL": f"http://127.0.0.1:{port}", "CXDESK_LOG_LEVEL": "WARNING"}
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    env.pop("REDIS_URL", None)
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    env["CXDESK_WEB_PROCESSES"] = str(args.web_processes)
    cxdesk = shutil.which("cxdesk", path=str(Path(sys.executable).parent)) or "cxdesk"
    # A SIGTERM (timeout, Ctrl-C from a wrapper) still runs the `finally` below, which stops the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    log = (home / "server.log").open("wb")
    server = subprocess.Popen([cxdesk, "run", "--host", "127.0.0.1", "--port", str(port)], cwd=REPO, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_port(port, server)
        key, token = _setup(env)
        base = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        stats = asyncio.run(_load(base, key, token, args, server.pid))
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()

    errors = sum(stats.errors.values())
    print(f"\nchat benchmark: {args.visitors} visitors, {args.duration:.0f} s (+{args.ramp:.0f} s ramp), "
          f"one message per visitor every {args.interval:g} s, agent reply every {args.agent_interval:g} s, "
          f"database {'PostgreSQL' if args.database_url else 'SQLite'}, {args.web_processes} web process(es), "
          f"channel layer {'Redis' if args.redis_url else 'in-memory'}\n")
    print("| measure | count | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|")
    for name, values in (("visitor message → echo on its socket", stats.echo_ms),
                         ("… of them sent after the ramp (every chat started)", stats.steady_echo_ms),
                         ("agent API reply → visitor socket", stats.reply_ms)):
        print(f"| {name} | {len(values)} | {_pct(values, .5):.1f} | {_pct(values, .95):.1f} | "
              f"{_pct(values, .99):.1f} | {max(values) if values else float('nan'):.1f} |")
    print(f"\nconnected {stats.connected}/{args.visitors}, chats started {stats.started}, messages sent "
          f"{stats.sent} ({stats.sent / elapsed:.1f}/s), errors {errors} {json.dumps(stats.errors)}")
    messages = max(1, stats.stored_end - stats.stored_start)
    cpu = {k: stats.cpu_end.get(k, 0.0) - stats.cpu_start.get(k, 0.0) for k in stats.cpu_end}
    web_ms, worker_ms = cpu.get("daphne", 0.0) * 1000 / messages, cpu.get("db_worker", 0.0) * 1000 / messages
    print(f"server CPU over the messaging phase, per ticket message stored in it ({messages}: visitors' messages, "
          f"chat starts, agents' replies): web processes "
          f"{cpu.get('daphne', 0.0):.1f} s = {web_ms:.1f} ms per message; task worker "
          f"{cpu.get('db_worker', 0.0):.1f} s = {worker_ms:.1f} ms per message; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"visitors={args.visitors} connected={stats.connected} sent={stats.sent} echoed={len(stats.echo_ms)} "
          f"web_cpu_ms_per_message={web_ms:.1f} worker_cpu_ms_per_message={worker_ms:.1f} "
          f"echo_p50_ms={_pct(stats.echo_ms, .5):.1f} echo_p95_ms={_pct(stats.echo_ms, .95):.1f} "
          f"steady_echo_p50_ms={_pct(stats.steady_echo_ms, .5):.1f} "
          f"steady_echo_p95_ms={_pct(stats.steady_echo_ms, .95):.1f} "
          f"reply_p50_ms={_pct(stats.reply_ms, .5):.1f} reply_p95_ms={_pct(stats.reply_ms, .95):.1f} "
          f"errors={errors}")
    if errors:
        tail = (home / "server.log").read_text(errors="replace").splitlines()[-15:]
        print("server log (last lines):\n" + "\n".join(tail), file=sys.stderr)
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
