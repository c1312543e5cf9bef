"""Opaque keyset cursors shared by the UI and the API (stable under inserts, no OFFSET scans)."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from cx.core.errors import ValidationFailed


def cursor_encode(values: list) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_decode(cursor: str, *, size: int) -> list:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("The cursor is not valid.", fields={"cursor": "malformed cursor"}) from None
    if not isinstance(values, list) or len(values) != size:
        raise ValidationFailed("The cursor is not valid.", fields={"cursor": "malformed cursor"})
    return values


def cursor_decode_time_id(cursor: str) -> tuple[datetime, int]:
    """Decode a ``[aware datetime, id]`` keyset cursor, refusing anything forged or malformed."""
    from django.utils.dateparse import parse_datetime

    raw_time, last_id = cursor_decode(cursor, size=2)
    try:
        when = parse_datetime(raw_time) if isinstance(raw_time, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None or isinstance(last_id, bool) or not isinstance(last_id, int):
        raise ValidationFailed("The cursor is not valid.", fields={"cursor": "malformed cursor"})
    return when, last_id
