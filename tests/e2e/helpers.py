"""Helpers for browser tests that are not fixtures."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def in_worker_thread(work: Callable[[], Any]) -> Any:
    """Run ORM work that publishes realtime events outside Playwright's event loop (as a web request would:
    ``async_to_sync`` cannot run in a thread that has a running event loop)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    if thread.is_alive():
        raise TimeoutError("the work did not finish within 30 s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
