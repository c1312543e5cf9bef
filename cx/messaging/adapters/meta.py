"""What WhatsApp Cloud API and Messenger share: Meta's signature over the raw body and the GET handshake."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from .base import MalformedPayload, WebhookRequest

GRAPH_API = "https://graph.facebook.com"
GRAPH_VERSION = "v21.0"


def signature_valid(*, app_secret: str, request: WebhookRequest) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body keyed by the app secret>``."""
    header = request.headers.get("X-Hub-Signature-256", "") or ""
    if not app_secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta would send (used by tests and the admin's "send a test event")."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def load_json(body: bytes, *, expected_object: str) -> dict[str, Any]:
    try:
        payload = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedPayload(f"the body is not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise MalformedPayload("the body is not a JSON object")
    if payload.get("object") != expected_object:
        raise MalformedPayload(f"object must be {expected_object!r}, got {payload.get('object')!r}")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise MalformedPayload("entry must be a list")
    return payload
