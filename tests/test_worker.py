"""The background worker for real: a password reset requested through the web is queued on commit, run by a
separate `manage.py db_worker` process against the same database, and mailed through a real SMTP server.

The worker runs the production settings (config.settings) with the database task backend, exactly as
`cxdesk run` starts it; only the database, CXDESK_HOME and the mail server are pointed at the test's own.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from cx.accounts.models import Role, User
from cx.accounts.services import user_create
from cx.accounts.tasks import send_password_reset_email
from tests.support import free_port as _free_port

REPO = Path(__file__).resolve().parents[1]
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
WORKER_TIMEOUT = 60  # seconds; a worker in --batch mode exits as soon as the queue is empty


class SmtpSink:
    """A real SMTP server on 127.0.0.1 that keeps what it accepts and refuses the recipients in ``refused``."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refused: set[str] = set()
        self._lock = threading.Lock()
        self.port = _free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def mail_to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address.lower() in str(m.get("To", "")).lower()]


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


@pytest.fixture
def database_tasks():
    """Tasks go to the database queue, as in production (the test settings run them inline)."""
    with override_settings(TASKS=DATABASE_TASKS):
        yield


def _agent(username: str) -> User:
    return user_create(actor=None, username=username, email=f"{username}@agents.example.test",
                       password="correct-horse-42", role=Role.AGENT)


def _request_reset(email: str) -> None:
    """Ask for a reset through the page, inside a transaction as if the request were atomic: the task
    is queued only when it commits."""
    queued_before = DBTaskResult.objects.count()
    with transaction.atomic():
        response = Client().post(reverse("accounts:password_reset"), {"email": email})
        assert response.status_code == 302, response.content.decode()
        assert DBTaskResult.objects.count() == queued_before, "queued before the transaction committed"
    assert DBTaskResult.objects.count() == queued_before + 1


def _queued_for(user_id: int) -> DBTaskResult:
    return DBTaskResult.objects.get(args_kwargs__kwargs__user_id=user_id)


def _run_worker(env: dict[str, str], *, email_url: str) -> subprocess.CompletedProcess:
    """One real worker process that runs everything queued, then exits (--batch)."""
    return subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval", "0"],
        cwd=REPO, env={**env, "CXDESK_TASKS": "database", "CXDESK_EMAIL_URL": email_url},
        capture_output=True, text=True, timeout=WORKER_TIMEOUT, check=False,
    )


def test_reset_mail_queued_by_a_web_request_is_sent_by_the_worker_process(
    child_env, database_tasks, smtp_sink
):
    agent = _agent("queued-agent")

    _request_reset(agent.email)
    queued = _queued_for(agent.pk)
    assert queued.status == TaskResultStatus.READY
    assert smtp_sink.messages == []  # the request itself never talks to the mail server

    worker = _run_worker(child_env, email_url=f"smtp://127.0.0.1:{smtp_sink.port}")

    assert worker.returncode == 0, worker.stderr
    result = send_password_reset_email.get_result(str(queued.pk))
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert result.return_value is True
    [mail] = smtp_sink.mail_to(agent.email)
    assert mail["Subject"] == "Reset your cxdesk password"
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/\S+/)", mail.get_content())
    assert link, mail.get_content()
    # The link the worker made opens the set-password form in the web app.
    page = Client().get(link.group(1), follow=True)
    assert page.status_code == 200
    assert b"new_password1" in page.content


def test_a_refused_recipient_fails_its_task_and_the_worker_goes_on_to_the_next(
    child_env, database_tasks, smtp_sink
):
    bounced = _agent("bounced-agent")
    reachable = _agent("reachable-agent")
    smtp_sink.refused.add(bounced.email.lower())
    _request_reset(bounced.email)  # queued first, so the failure comes before the next task
    _request_reset(reachable.email)

    worker = _run_worker(child_env, email_url=f"smtp://127.0.0.1:{smtp_sink.port}")

    assert worker.returncode == 0, worker.stderr
    failed = send_password_reset_email.get_result(str(_queued_for(bounced.pk).pk))
    assert failed.status == TaskResultStatus.FAILED
    assert [e.exception_class_path for e in failed.errors] == ["smtplib.SMTPRecipientsRefused"]
    sent = send_password_reset_email.get_result(str(_queued_for(reachable.pk).pk))
    assert sent.status == TaskResultStatus.SUCCESSFUL, sent.errors
    assert failed.finished_at <= sent.started_at  # the same worker carried on after the failure
    assert failed.worker_ids == sent.worker_ids
    assert smtp_sink.mail_to(bounced.email) == []
    assert len(smtp_sink.mail_to(reachable.email)) == 1


def test_an_unreachable_mail_server_fails_every_task_without_stopping_the_worker(
    child_env, database_tasks
):
    agents = [_agent(f"offline-agent{n}") for n in range(2)]
    for agent in agents:
        _request_reset(agent.email)

    worker = _run_worker(child_env, email_url=f"smtp://127.0.0.1:{_free_port()}")  # nothing listens there

    assert worker.returncode == 0, worker.stderr
    for agent in agents:
        result = send_password_reset_email.get_result(str(_queued_for(agent.pk).pk))
        assert result.status == TaskResultStatus.FAILED
        assert [e.exception_class_path for e in result.errors] == ["builtins.ConnectionRefusedError"]
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists()
