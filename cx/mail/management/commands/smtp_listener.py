"""`cxdesk smtp_listener`: receive customers' mail over SMTP (started by `cxdesk run` when
CXDESK_SMTP_LISTEN_PORT is set)."""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cx.mail.smtp import make_controller


class Command(BaseCommand):
    help = "Run the inbound SMTP listener for the configured mailboxes until stopped."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=settings.CXDESK_SMTP_LISTEN_HOST)
        parser.add_argument("--port", type=int, default=settings.CXDESK_SMTP_LISTEN_PORT)

    def handle(self, *args, **options) -> None:
        port = options["port"]
        if not 1 <= port <= 65535:
            raise CommandError("set --port or CXDESK_SMTP_LISTEN_PORT to a port between 1 and 65535")
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        controller = make_controller(host=options["host"], port=port)
        try:
            controller.start()
        except (OSError, RuntimeError) as error:
            raise CommandError(f"cannot listen on {options['host']}:{port}: {error}") from None
        self.stdout.write(f"SMTP listener on {options['host']}:{port}")
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            controller.stop()
