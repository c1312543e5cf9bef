"""Browser tests: a real cxdesk server (daphne, ASGI with WebSockets) in its own process, a real SQLite
file database shared with the test process, a real SMTP sink on 127.0.0.1, and Debian's Chromium.

Run them in their own pytest process (see Makefile): Playwright's event loop does not mix with
pytest-asyncio, and the ORM is used from fixtures while the browser runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.management import call_command

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """A real SMTP server on 127.0.0.1 that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self.port = _free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def wait_for(self, *, to: str, timeout: float = 15.0) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for message in self.messages:
                    if to.lower() in str(message.get("To", "")).lower():
                        return message
            time.sleep(0.1)
        raise AssertionError(f"no mail to {to} arrived within {timeout}s")


@pytest.fixture(scope="session")
def smtp_sink():
    sink = SmtpSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker):
    """Use the real file database from CXDESK_HOME (the server process opens the same file)."""
    with django_db_blocker.unblock():
        call_command("migrate", verbosity=0, interactive=False)


@pytest.fixture
def e2e_db(django_db_setup, django_db_blocker):
    """Committed data the server can see; the database is emptied after each test (and the built-in
    ticket statuses, which a flush removes, are restored)."""
    from cx.tickets.services import ticket_statuses_ensure_defaults

    with django_db_blocker.unblock():
        ticket_statuses_ensure_defaults()
        yield
        call_command("flush", verbosity=0, interactive=False)
        ticket_statuses_ensure_defaults()


def _wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited") from None
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{what} did not start within {timeout:g} s")


@pytest.fixture(scope="session")
def redis_url():
    """A throwaway Redis: the server and this test process share it as the channel layer, so events
    published by test code (in a worker thread, see helpers.in_worker_thread) reach the browsers."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is needed for the browser tests (make test installs it)")
    port = _free_port()
    proc = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    _wait_for_port(port, proc, "redis-server")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(autouse=True)
def _shared_channel_layer(settings, redis_url):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_url]}}
    }


@pytest.fixture(scope="session")
def server_url(django_db_setup, smtp_sink, redis_url):
    port = _free_port()
    env = dict(os.environ)
    env.update({
        "CXDESK_HOME": str(settings.CXDESK_HOME),
        "CXDESK_EMAIL_URL": f"smtp://127.0.0.1:{smtp_sink.port}",
        "CXDESK_BASE_URL": f"http://127.0.0.1:{port}",
        "CXDESK_TASKS": "immediate",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REDIS_URL": redis_url,
    })
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = open(Path(settings.CXDESK_HOME) / "e2e-server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    _wait_for_port(port, proc, "the cxdesk server (see e2e-server.log)")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(autouse=True)
def _server_password_hashers(settings):
    """Users made in tests must log in on the server, which runs config.settings (PBKDF2), not test MD5."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, never a downloaded browser, with no background network traffic."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"],
    }


@pytest.fixture
def login(server_url):
    """login(page, username, password) logs in through the real login form."""

    def _login(page, username: str, password: str = "correct-horse-42") -> None:
        page.goto(f"{server_url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state("networkidle")

    return _login
