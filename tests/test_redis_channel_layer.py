"""Live timelines across processes: two real daphne servers share a real Redis channel layer, so an agent
watching a customer on server A sees what is recorded through server B (or published by any other process,
such as the task worker).

Everything runs for real: redis-server on a free loopback port, `python -m daphne` twice with the production
settings and REDIS_URL, the test's committed database, and a small RFC 6455 WebSocket client. Every wait is
bounded.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from cx.accounts.models import Role
from cx.accounts.services import api_token_create, user_create
from cx.customers.services import customer_create
from cx.realtime.publish import publish_now
from cx.realtime.schemas import RealtimeEvent
from tests.support import free_port as _free_port

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 30.0  # seconds for redis-server or daphne to accept connections
STOP_TIMEOUT = 10.0
EVENT_TIMEOUT = 10.0  # seconds for a pushed event to reach a WebSocket client
SCENARIO_TIMEOUT = 60.0  # seconds for a whole client-side scenario


def _wait_until_accepting(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing accepted connections on port {port} within {START_TIMEOUT:.0f} s:\n"
                       f"{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port: no persistence, stopped after the module."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server; `make system-deps`)")
    workdir = tmp_path_factory.mktemp("redis")
    port = _free_port()
    log = workdir / "redis.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(workdir), "--protected-mode", "yes"],
            stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_accepting(port, process, log)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as probe:
            probe.sendall(b"PING\r\n")
            assert probe.recv(16) == b"+PONG\r\n"
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)




@dataclass(frozen=True)
class Server:
    port: int

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def servers(child_env, redis_url, tmp_path) -> Iterator[tuple[Server, Server]]:
    """Two daphne processes with the production settings, sharing the database and the Redis channel layer."""
    env = {**child_env, "REDIS_URL": redis_url, "CXDESK_TASKS": "immediate"}
    started: list[tuple[subprocess.Popen, int, Path]] = []
    try:
        for name in ("a", "b"):
            port, log = _free_port(), tmp_path / f"daphne-{name}.log"
            with log.open("wb") as output:
                process = subprocess.Popen(
                    [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
                    cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT,
                )
            started.append((process, port, log))
        for process, port, log in started:
            _wait_until_accepting(port, process, log)
        yield Server(started[0][1]), Server(started[1][1])
    finally:
        for process, _port, _log in started:
            _stop(process)


@pytest.fixture
def redis_layer(redis_url):
    """This (test) process publishes through the same Redis, as the task worker would."""
    with override_settings(CHANNEL_LAYERS={
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_url]}}
    }):
        yield


WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
OP_CONTINUATION, OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x8, 0x9, 0xA


class TimelineWatcher:
    """An agent's browser tab watching one customer's live timeline on one server.

    A small RFC 6455 client over asyncio streams: the handshake a browser makes (Origin and session cookie),
    unmasked server frames in, masked client frames out. No client library is installed (autobahn's, which
    daphne brings, is bound to Twisted once daphne is imported, as it is in this process).
    """

    def __init__(self, server: Server, customer_id: int, cookie: str) -> None:
        self.server = server
        self.path = f"/ws/customers/{customer_id}/timeline/"
        self.cookie = cookie
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> TimelineWatcher:
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", self.server.port), EVENT_TIMEOUT)
        try:
            await asyncio.wait_for(self._handshake(), EVENT_TIMEOUT)
        except BaseException:
            await self._close_transport()
            raise
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            await asyncio.wait_for(self._send(OP_CLOSE, struct.pack("!H", 1000)), STOP_TIMEOUT)
        await self._close_transport()

    async def _handshake(self) -> None:
        assert self.reader is not None and self.writer is not None
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {self.path} HTTP/1.1", f"Host: 127.0.0.1:{self.server.port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
                 f"Origin: {self.server.origin}"]
        if self.cookie:
            lines.append(f"Cookie: {self.cookie}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").strip().split("\r\n")
        status = int(status_line.split()[1])
        if status != 101:
            raise ConnectionError(f"handshake refused: HTTP {status}")
        headers = {name.strip().lower(): value.strip() for name, value in (h.split(":", 1) for h in header_lines)}
        digest = hashlib.sha1((key + WEBSOCKET_GUID).encode(), usedforsecurity=False).digest()
        assert headers["sec-websocket-accept"] == base64.b64encode(digest).decode()

    async def _close_transport(self) -> None:
        assert self.writer is not None
        self.writer.close()
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), STOP_TIMEOUT)

    async def next_event(self) -> dict[str, Any]:
        """The next JSON event the server pushes (pings are answered; a close is an error)."""
        return await asyncio.wait_for(self._next_text(), EVENT_TIMEOUT)

    async def _next_text(self) -> dict[str, Any]:
        message = b""
        while True:
            final, opcode, payload = await self._read_frame()
            if opcode == OP_PING:
                await self._send(OP_PONG, payload)
            elif opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise ConnectionError(f"the server closed the connection: {code}")
            elif opcode in {OP_TEXT, OP_CONTINUATION}:
                message += payload
                if final:
                    return json.loads(message)

    async def _read_frame(self) -> tuple[bool, int, bytes]:
        assert self.reader is not None
        first, second = await self.reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        mask = await self.reader.readexactly(4) if second & 0x80 else b""
        payload = await self.reader.readexactly(length)
        if mask:
            payload = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        return bool(first & 0x80), first & 0x0F, payload

    async def _send(self, opcode: int, payload: bytes) -> None:
        assert self.writer is not None and len(payload) < 126  # control frames only
        mask = os.urandom(4)  # a client masks every frame it sends (RFC 6455, section 5.3)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        self.writer.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)
        await self.writer.drain()


def _run(scenario) -> Any:
    """Run a client-side scenario in a fresh event loop, bounded in time."""
    return asyncio.run(asyncio.wait_for(scenario, SCENARIO_TIMEOUT))


def _session_cookie(username: str) -> str:
    """A logged-in agent's session, stored in the shared database, as the Cookie header a browser sends."""
    agent = user_create(actor=None, username=username, email=f"{username}@agents.example.test",
                        password="correct-horse-42", role=Role.AGENT)
    client = Client()
    client.force_login(agent)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def _record_touchpoint(server: Server, token: str, customer_id: int, kind: str) -> dict[str, Any]:
    """An integration records a touchpoint through one server's REST API."""
    request = urllib.request.Request(
        f"{server.origin}/api/v1/customers/{customer_id}/touchpoints", method="POST",
        data=json.dumps({"kind": kind, "channel": "shop", "stage": "purchase"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=EVENT_TIMEOUT) as response:
        assert response.status == 201
        return json.loads(response.read())


def test_a_touchpoint_recorded_through_server_b_reaches_the_agent_watching_on_server_a(servers):
    server_a, server_b = servers
    cookie = _session_cookie("watching-agent")
    integration = user_create(actor=None, username="shop-integration", email="shop@agents.example.test",
                              password="correct-horse-42", role=Role.AGENT)
    token = api_token_create(actor=integration, name="shop", scope="write").plaintext
    watched = customer_create(actor=None, display_name="Watched on A")
    other = customer_create(actor=None, display_name="Watched on B")

    async def scenario() -> tuple[dict, dict, dict, dict]:
        async with (TimelineWatcher(server_a, watched.pk, cookie) as on_a,
                    TimelineWatcher(server_b, other.pk, cookie) as on_b):
            recorded = await asyncio.to_thread(_record_touchpoint, server_b, token, watched.pk, "order.completed")
            seen_on_a = await on_a.next_event()
            recorded_other = await asyncio.to_thread(_record_touchpoint, server_b, token, other.pk, "order.refunded")
            # B's watcher follows another customer: the first event it gets is that customer's, not A's.
            seen_on_b = await on_b.next_event()
            return recorded, seen_on_a, recorded_other, seen_on_b

    recorded, seen_on_a, recorded_other, seen_on_b = _run(scenario())

    assert seen_on_a["type"] == "timeline.touchpoint_recorded"
    assert seen_on_a["payload"]["customer_id"] == watched.pk
    assert seen_on_a["payload"]["touchpoint_id"] == recorded["id"]
    assert seen_on_a["payload"]["kind"] == "order.completed"
    assert seen_on_b["payload"]["customer_id"] == other.pk
    assert seen_on_b["payload"]["touchpoint_id"] == recorded_other["id"]


def test_an_event_published_by_another_process_reaches_watchers_on_every_server(servers, redis_layer):
    cookie = _session_cookie("second-agent")
    customer = customer_create(actor=None, display_name="Watched everywhere")
    event = RealtimeEvent(type="timeline.touchpoint_recorded", payload={
        "customer_id": customer.pk, "touchpoint_id": 424242, "kind": "survey.answered", "stage": "loyalty",
        "channel": "email", "occurred_at": "2026-01-02T03:04:05+00:00"})

    async def scenario() -> list[dict]:
        server_a, server_b = servers
        async with (TimelineWatcher(server_a, customer.pk, cookie) as on_a,
                    TimelineWatcher(server_b, customer.pk, cookie) as on_b):
            await asyncio.to_thread(publish_now, group=f"customer.{customer.pk}.timeline", event=event)
            return [await on_a.next_event(), await on_b.next_event()]

    received = _run(scenario())

    assert received == [event.model_dump(mode="json")] * 2


def test_a_visitor_without_a_session_cannot_watch_a_timeline(servers):
    server_a, _ = servers
    customer = customer_create(actor=None, display_name="Private")

    async def scenario() -> None:
        async with TimelineWatcher(server_a, customer.pk, cookie=""):
            pass

    with pytest.raises(ConnectionError, match="handshake refused: HTTP 403"):
        _run(scenario())
