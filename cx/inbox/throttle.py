"""Submission limits for public forms, counted in Django's cache (shared between processes with Redis).

A fixed window per key: the first submission starts an hour; the limit applies until the hour is over.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.core.cache import cache


class SubmissionThrottle:
    def __init__(self, *, scope: str, value: str, limit: int, window_seconds: int) -> None:
        digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()
        self._count_key = f"cx:throttle:{scope}:{digest}:count"
        self._start_key = f"cx:throttle:{scope}:{digest}:start"
        self.limit = limit
        self.window = window_seconds

    def is_limited(self) -> bool:
        return (cache.get(self._count_key) or 0) >= self.limit

    def retry_after(self) -> int:
        """Seconds until the window ends (at least 1)."""
        started = cache.get(self._start_key)
        if started is None:
            return 1
        return max(1, math.ceil(started + self.window - time.time()))

    def record(self) -> None:
        if cache.add(self._start_key, time.time(), self.window):
            cache.set(self._count_key, 1, self.window)
            return
        try:
            cache.incr(self._count_key)
        except ValueError:  # the count expired between the two calls
            cache.set(self._count_key, 1, self.window)
