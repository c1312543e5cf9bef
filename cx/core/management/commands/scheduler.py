"""`cxdesk scheduler`: runs registered periodic jobs (see cx.core.periodic) until stopped."""

from __future__ import annotations

import signal
import time

from django.core.management.base import BaseCommand

from cx.core.periodic import periodic_jobs, run_due_jobs


class Command(BaseCommand):
    help = "Run periodic jobs (SLA checks, time-based rules) every few seconds until stopped."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="Run the due jobs once and exit.")
        parser.add_argument("--interval", type=float, default=10.0, help="Seconds between checks (default 10).")

    def handle(self, *args, once: bool = False, interval: float = 10.0, **options) -> None:
        if once:
            ran = run_due_jobs()
            self.stdout.write(f"ran: {', '.join(ran) or 'nothing due'}")
            return
        stopping = {"now": False}

        def stop(signum, frame) -> None:
            stopping["now"] = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"scheduler: {len(periodic_jobs())} periodic jobs, checking every {interval:g}s")
        while not stopping["now"]:
            run_due_jobs()
            deadline = time.monotonic() + interval
            while not stopping["now"] and time.monotonic() < deadline:
                time.sleep(0.2)
