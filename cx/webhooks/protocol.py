"""The wire protocol a webhook receiver implements: body, headers, signature and the retry schedule.

Plain functions with no Django import, so a receiver (or a test) can verify deliveries with the same code.

Each delivery is ``POST <url>`` with a JSON body ``{"id", "type", "created_at", "data"}`` and headers
``X-Cxdesk-Event`` (the type), ``X-Cxdesk-Delivery`` (the event id; a redelivery repeats it, so receivers
can drop duplicates), ``X-Cxdesk-Timestamp`` (Unix seconds) and ``X-Cxdesk-Signature:
sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the endpoint's secret>``. Receivers should
compare signatures in constant time and refuse old timestamps (e.g. older than 5 minutes) against replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

SIGNATURE_PREFIX = "sha256="
# Waiting time after the n-th failed attempt (index n-1); after the last attempt the delivery fails.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


def encode_body(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify(*, secret: str, timestamp: int | str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    try:
        expected = sign(secret=secret, timestamp=int(timestamp), body=body)
    except (TypeError, ValueError):
        return False
    return hmac.compare_digest(expected, signature or "")


def headers(*, event_type: str, event_id: str, timestamp: int, signature: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "cxdesk-webhooks/1",
        "X-Cxdesk-Event": event_type,
        "X-Cxdesk-Delivery": event_id,
        "X-Cxdesk-Timestamp": str(timestamp),
        "X-Cxdesk-Signature": signature,
    }


def retry_delay(attempts_made: int) -> timedelta | None:
    """How long to wait after ``attempts_made`` failed attempts; None: give up (the delivery failed)."""
    if attempts_made < 1:
        return timedelta(0)
    if attempts_made >= MAX_ATTEMPTS:
        return None
    return RETRY_DELAYS[attempts_made - 1]
