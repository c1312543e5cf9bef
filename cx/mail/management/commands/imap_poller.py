"""`cxdesk imap_poller`: fetch mail of every IMAP-enabled mailbox (IDLE where supported), reconnecting
after errors; started by `cxdesk run`."""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connections

from cx.mail.imap import poll_mailbox, run_watchers
from cx.mail.models import Mailbox


class Command(BaseCommand):
    help = "Poll IMAP mailboxes until stopped (--once: one round, then exit)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=settings.CXDESK_IMAP_POLL_SECONDS)
        parser.add_argument("--once", action="store_true")

    def handle(self, *args, **options) -> None:
        if options["once"]:
            for mailbox in Mailbox.objects.filter(imap_enabled=True, is_active=True):
                try:
                    result = poll_mailbox(mailbox)
                except Exception as error:
                    reason = f"{type(error).__name__}: {error}"[:480]
                    Mailbox.objects.filter(pk=mailbox.pk).update(imap_last_error=reason)
                    self.stderr.write(f"{mailbox.address}: {type(error).__name__}: {error}")
                    continue
                self.stdout.write(f"{mailbox.address}: {result.fetched} fetched, {result.failed} failed")
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        try:
            run_watchers(interval=max(5.0, options["interval"]), stop=stop)
        finally:
            connections.close_all()
