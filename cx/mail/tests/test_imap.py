"""IMAP polling against a real Dovecot server started for the test."""

from __future__ import annotations

import imaplib
import ssl
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.db import OperationalError

from cx.mail.imap import ImapWatcher, poll_mailbox
from cx.mail.models import InboundEmail, Mailbox
from cx.mail.tests.dovecot import Dovecot
from cx.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)
USER, PASSWORD = "support@acme.test", "s3cret-imap"


@pytest.fixture
def dovecot():
    server = Dovecot(user=USER, password=PASSWORD)
    server.start()
    yield server
    server.cleanup()


@pytest.fixture(autouse=True)
def _statuses(transactional_db):
    from cx.tickets.services import ticket_statuses_ensure_defaults

    ticket_statuses_ensure_defaults()


def _mailbox(server: Dovecot, **extra) -> Mailbox:
    values = {"address": USER, "brand_name": "Acme", "imap_enabled": True, "imap_host": "127.0.0.1",
              "imap_port": server.port, "imap_ssl": False, "imap_username": USER, "imap_password": PASSWORD}
    values.update(extra)
    return Mailbox.objects.create(**values)


def _deliver(server: Dovecot, subject: str, *, ssl_context: ssl.SSLContext | None = None) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "carla@example.org", USER, subject
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content(f"Body of {subject}")
    client = imaplib.IMAP4_SSL("127.0.0.1", server.port, ssl_context=ssl_context) if ssl_context \
        else imaplib.IMAP4("127.0.0.1", server.port)
    client.login(USER, PASSWORD)
    assert client.append("INBOX", None, None, message.as_bytes())[0] == "OK"
    client.logout()


def _folder_count(server: Dovecot, folder: str) -> int:
    client = imaplib.IMAP4("127.0.0.1", server.port)
    client.login(USER, PASSWORD)
    status, data = client.select(folder, readonly=True)
    client.logout()
    return int(data[0]) if status == "OK" else -1


def test_mail_in_the_imap_mailbox_becomes_a_ticket_and_moves_to_the_processed_folder(dovecot):
    mailbox = _mailbox(dovecot, imap_processed_folder="Processed")
    _deliver(dovecot, "Invoice question")
    _deliver(dovecot, "Refund please")
    assert poll_mailbox(mailbox).fetched == 2
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["Invoice question", "Refund please"]
    assert set(InboundEmail.objects.values_list("source", flat=True)) == {"imap"}
    assert _folder_count(dovecot, "INBOX") == 0 and _folder_count(dovecot, "Processed") == 2
    assert poll_mailbox(mailbox).fetched == 0


def test_without_a_processed_folder_mail_is_flagged_and_not_fetched_twice(dovecot):
    mailbox = _mailbox(dovecot)
    _deliver(dovecot, "Keep it here")
    assert poll_mailbox(mailbox).fetched == 1
    assert poll_mailbox(mailbox).fetched == 0
    assert _folder_count(dovecot, "INBOX") == 1 and Ticket.objects.count() == 1


def test_the_watcher_gets_new_mail_by_idle_and_survives_a_server_restart(dovecot):
    mailbox = _mailbox(dovecot)
    stop = threading.Event()
    # interval 600 s: only IDLE can bring the mail in time; reconnect attempts at most 2 s apart.
    watcher = ImapWatcher(mailbox.pk, interval=600, stop=stop, max_backoff=2)
    watcher.start()
    try:
        _wait(lambda: watcher.rounds >= 1, "the first poll")
        _deliver(dovecot, "Pushed by IDLE")
        _wait(lambda: Ticket.objects.filter(subject="Pushed by IDLE").exists(), "the IDLE delivery")
        dovecot.stop()
        _wait(lambda: Mailbox.objects.get(pk=mailbox.pk).imap_last_error != "", "the disconnect to be noticed")
        dovecot.start()
        _deliver(dovecot, "After the restart")
        _wait(lambda: Ticket.objects.filter(subject="After the restart").exists(), "the reconnect", timeout=90)
        assert Mailbox.objects.get(pk=mailbox.pk).imap_last_error == ""
    finally:
        stop.set()
        watcher.join(timeout=30)
    assert not watcher.is_alive()


def test_imaps_with_the_servers_certificate_trusted(settings):
    server = Dovecot(user=USER, password=PASSWORD, tls=True)
    server.start()
    try:
        settings.CXDESK_IMAP_CA_FILE = str(server.cert)
        context = ssl.create_default_context(cafile=str(server.cert))
        _deliver(server, "Over TLS", ssl_context=context)
        mailbox = _mailbox(server, imap_ssl=True)
        assert poll_mailbox(mailbox).fetched == 1
        assert Ticket.objects.get().subject == "Over TLS"
    finally:
        server.cleanup()


def test_a_wrong_password_is_reported_on_the_mailbox_without_crashing(dovecot):
    from django.core.management import call_command

    mailbox = _mailbox(dovecot, imap_password="wrong")
    call_command("imap_poller", "--once")
    assert "AUTHENTICATIONFAILED" in Mailbox.objects.get(pk=mailbox.pk).imap_last_error.upper() \
        or "authentication" in Mailbox.objects.get(pk=mailbox.pk).imap_last_error.lower()


def _wait(predicate, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OperationalError:  # SQLite's shared in-memory test database locks tables across threads
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
