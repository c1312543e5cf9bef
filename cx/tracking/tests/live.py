"""A real cxdesk server (daphne, ASGI fast path) in a subprocess with its own CXDESK_HOME and SQLite file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveCxdesk:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CXDESK_"))}
        self.env.update({"CXDESK_HOME": str(home), "DJANGO_SETTINGS_MODULE": "config.settings",
                         "CXDESK_SECRET_KEY": "live-test-secret-key-0123456789-abcdefghijklmnop",
                         "CXDESK_TASKS": "immediate", "DATABASE_URL": ""})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, capture_output=True,
                                text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed: {result.stderr[-2000:]}")
        return result.stdout

    def prepare(self) -> str:
        """Migrate and create a source; returns its write key."""
        self.manage("migrate", "--noinput")
        code = ("from cx.accounts.services import user_create; from cx.tracking.services import source_create; "
                "u = user_create(actor=None, username='admin', email='a@example.test', password='pw-123456789x', "
                "role='admin'); print(source_create(actor=u, name='Website').write_key)")
        return self.manage("shell", "--no-imports", "-c", code).strip().splitlines()[-1]

    def start(self) -> None:
        self.log = open(self.home / f"server-{self.port}.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "config.asgi:application"],
            cwd=REPO, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("the server exited; see " + str(self.log.name)) from None
                time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()

    def load(self) -> str:
        return self.manage("tracking_load")

    def fetch(self, sql: str) -> list[tuple]:
        import duckdb

        con = duckdb.connect(str(self.home / "analytics" / "events.duckdb"), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def fetch_django(self, code: str) -> str:
        return self.manage("shell", "--no-imports", "-c", code).strip()
