"""IMAP / IMAPS polling for mailboxes that fetch their mail from an existing account.

``poll_mailbox`` fetches every message in the folder that is not yet flagged as processed, hands it to the
inbound pipeline, then moves it to the processed folder (MOVE, or COPY + delete) or flags it ``\\Seen`` plus
the keyword ``$CxdeskProcessed``. ``ImapWatcher`` keeps one connection per mailbox open, waits with IDLE where
the server supports it (else sleeps), and reconnects with backoff after any network or server error: the
`imap_poller` management command (started by ``cxdesk run``) runs one watcher thread per mailbox.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import select
import ssl
import threading
import time
from dataclasses import dataclass

from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from cx.mail.models import InboundSource, Mailbox

logger = logging.getLogger("cx.mail.imap")

PROCESSED_KEYWORD = "$CxdeskProcessed"
CONNECT_TIMEOUT = 30
IDLE_MAX_SECONDS = 25 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes
MAX_BATCH = 200


@dataclass
class PollResult:
    fetched: int = 0
    failed: int = 0


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def connect(mailbox: Mailbox) -> imaplib.IMAP4:
    if mailbox.imap_ssl:
        context = ssl.create_default_context()
        from django.conf import settings

        ca_file = getattr(settings, "CXDESK_IMAP_CA_FILE", "")
        if ca_file:
            context.load_verify_locations(cafile=ca_file)
        client: imaplib.IMAP4 = imaplib.IMAP4_SSL(mailbox.imap_host, mailbox.imap_port, ssl_context=context,
                                                  timeout=CONNECT_TIMEOUT)
    else:
        client = imaplib.IMAP4(mailbox.imap_host, mailbox.imap_port, timeout=CONNECT_TIMEOUT)
        if "STARTTLS" in client.capabilities:
            client.starttls(ssl.create_default_context())
    client.login(mailbox.imap_username, mailbox.imap_password)
    return client


def _select(client: imaplib.IMAP4, mailbox: Mailbox) -> None:
    status, data = client.select(_quote(mailbox.imap_folder))
    if status != "OK":
        raise imaplib.IMAP4.error(f"cannot open folder {mailbox.imap_folder}: {data!r}")
    if mailbox.imap_processed_folder:
        client.create(_quote(mailbox.imap_processed_folder))  # NO when it exists: fine


def _mark_processed(client: imaplib.IMAP4, mailbox: Mailbox, uid: bytes) -> None:
    if mailbox.imap_processed_folder:
        target = _quote(mailbox.imap_processed_folder)
        if "MOVE" in client.capabilities:
            status, _ = client.uid("MOVE", uid, target)
            if status == "OK":
                return
        status, _ = client.uid("COPY", uid, target)
        if status == "OK":
            client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
            client.expunge()
            return
    client.uid("STORE", uid, "+FLAGS.SILENT", rf"(\Seen {PROCESSED_KEYWORD})")


def poll_once(client: imaplib.IMAP4, mailbox: Mailbox) -> PollResult:
    """Fetch and process everything waiting in the selected folder."""
    from cx.mail.services import inbound_email_receive

    result = PollResult()
    status, data = client.uid("SEARCH", None, "NOT", "KEYWORD", PROCESSED_KEYWORD, "NOT", "DELETED")
    if status != "OK":
        raise imaplib.IMAP4.error(f"search failed: {data!r}")
    uids = (data[0] or b"").split()[:MAX_BATCH]
    for uid in uids:
        status, fetched = client.uid("FETCH", uid, "(BODY.PEEK[])")
        raw = next((part[1] for part in fetched if isinstance(part, tuple) and len(part) > 1), None)
        if status != "OK" or raw is None:
            result.failed += 1
            continue
        try:
            inbound_email_receive(raw=raw, source=InboundSource.IMAP, recipients=[mailbox.address])
        except Exception:  # a database outage: leave the message on the server for the next round
            logger.exception("IMAP message %s of %s could not be processed", uid, mailbox.address)
            result.failed += 1
            continue
        _mark_processed(client, mailbox, uid)
        result.fetched += 1
    return result


def poll_mailbox(mailbox: Mailbox) -> PollResult:
    """One complete poll with a fresh connection (tests, and servers without IDLE)."""
    client = connect(mailbox)
    try:
        _select(client, mailbox)
        result = poll_once(client, mailbox)
    finally:
        with contextlib.suppress(Exception):
            client.logout()
    Mailbox.objects.filter(pk=mailbox.pk).update(imap_last_polled_at=timezone.now(), imap_last_error="")
    return result


def idle_wait(client: imaplib.IMAP4, seconds: float, stop: threading.Event | None = None) -> bool:
    """RFC 2177 IDLE until the server reports new mail or ``seconds`` pass; True when something arrived.

    (imaplib gained ``idle()`` only in Python 3.14.)"""
    tag = client._new_tag()
    client.send(tag + b" IDLE\r\n")
    line = client.readline()
    if not line.startswith(b"+"):
        raise imaplib.IMAP4.error(f"IDLE refused: {line!r}")
    sock = client.socket()
    deadline = time.monotonic() + seconds
    arrived = False
    while time.monotonic() < deadline and not (stop and stop.is_set()):
        pending = getattr(sock, "pending", lambda: 0)()
        if not pending:
            readable, _, _ = select.select([sock], [], [], min(1.0, max(0.0, deadline - time.monotonic())))
            if not readable:
                continue
        line = client.readline()
        if not line:
            raise imaplib.IMAP4.abort("connection closed during IDLE")
        if re.match(rb"\* \d+ (EXISTS|RECENT)", line):
            arrived = True
            break
        if line.startswith(b"* BYE"):
            raise imaplib.IMAP4.abort("server said BYE during IDLE")
    client.send(b"DONE\r\n")
    while True:
        line = client.readline()
        if not line:
            raise imaplib.IMAP4.abort("connection closed ending IDLE")
        if line.startswith(tag):
            break
    return arrived


class ImapWatcher(threading.Thread):
    """Keeps one mailbox's folder drained; survives disconnects and server restarts."""

    def __init__(self, mailbox_id: int, *, interval: float, stop: threading.Event, max_backoff: float = 300.0) -> None:
        super().__init__(name=f"imap-{mailbox_id}", daemon=True)
        self.mailbox_id = mailbox_id
        self.interval = interval
        self.stop = stop
        self.rounds = 0
        self.max_backoff = max_backoff

    def run(self) -> None:
        backoff = 1.0
        while not self.stop.is_set():
            close_old_connections()
            mailbox = Mailbox.objects.filter(pk=self.mailbox_id, imap_enabled=True, is_active=True).first()
            if mailbox is None:
                return
            client = None
            try:
                client = connect(mailbox)
                _select(client, mailbox)
                backoff = 1.0
                while not self.stop.is_set():
                    poll_once(client, mailbox)
                    self.rounds += 1
                    Mailbox.objects.filter(pk=mailbox.pk).update(imap_last_polled_at=timezone.now(),
                                                                 imap_last_error="")
                    close_old_connections()
                    if "IDLE" in client.capabilities:
                        idle_wait(client, min(self.interval, IDLE_MAX_SECONDS), self.stop)
                    else:
                        self.stop.wait(self.interval)
                        client.noop()
            except (TimeoutError, OSError, imaplib.IMAP4.error, imaplib.IMAP4.abort, ssl.SSLError) as error:
                message = f"{type(error).__name__}: {error}"[:480]
                logger.warning("IMAP %s: %s; reconnecting in %.0f s", mailbox.address, message, backoff)
                with contextlib.suppress(DatabaseError):
                    Mailbox.objects.filter(pk=mailbox.pk).update(imap_last_error=message)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            finally:
                if client is not None:
                    with contextlib.suppress(Exception):
                        client.logout()


def run_watchers(*, interval: float, stop: threading.Event) -> None:
    """Start a watcher for every IMAP mailbox, and for mailboxes enabled later; until ``stop`` is set."""
    watchers: dict[int, ImapWatcher] = {}
    while not stop.is_set():
        close_old_connections()
        for mailbox_id in Mailbox.objects.filter(imap_enabled=True, is_active=True).values_list("pk", flat=True):
            watcher = watchers.get(mailbox_id)
            if watcher is None or not watcher.is_alive():
                watchers[mailbox_id] = ImapWatcher(mailbox_id, interval=interval, stop=stop)
                watchers[mailbox_id].start()
        deadline = time.monotonic() + min(interval, 30)
        while not stop.is_set() and time.monotonic() < deadline:
            stop.wait(0.5)
    for watcher in watchers.values():
        watcher.join(timeout=5)
