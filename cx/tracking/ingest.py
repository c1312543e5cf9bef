"""Parsing and validating Segment-format messages (the HTTP Tracking API spec).

Pure functions, no database: the ASGI fast path and the Django view share them. A request becomes either an
error response or a list of normalised messages (plus per-message rejections for a batch) ready for the spool.
"""

from __future__ import annotations

import base64
import json
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
ENDPOINTS = (*MESSAGE_TYPES, "batch", "import")
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_PROPERTY_KEYS = 1000
MAX_DEPTH = 8
MAX_ID_CHARS = 255
MAX_EVENT_CHARS = 200
MAX_MESSAGE_ID_CHARS = 128
# A client clock may run a little ahead; anything further is a bug on the sender's side.
MAX_FUTURE = timedelta(minutes=10)
OBJECT_FIELDS = ("properties", "traits", "context", "integrations")


class RequestRejected(Exception):
    """The whole request is refused (the status says why)."""

    def __init__(self, status: int, code: str, message: str, fields: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


@dataclass
class Parsed:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    write_key: str = ""


def write_key_from_header(authorization: str) -> str:
    """Segment SDKs send the write key as the Basic-auth user name with an empty password."""
    if not authorization:
        return ""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[0]


def decode_body(raw: bytes, *, content_encoding: str, limit: int) -> bytes:
    """Undo gzip/deflate, refusing bodies that are (or inflate to) more than ``limit`` bytes."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        if len(raw) > limit:
            raise RequestRejected(413, "payload_too_large", f"The request body is larger than {limit} bytes.",
                                  {"body": f"at most {limit} bytes"})
        return raw
    if encoding not in ("gzip", "deflate"):
        raise RequestRejected(415, "unsupported_encoding", f"Content-Encoding {encoding!r} is not supported.",
                              {"Content-Encoding": "gzip, deflate or none"})
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        body = inflater.decompress(raw, limit + 1)
    except zlib.error:
        raise RequestRejected(400, "bad_encoding", f"The body is not valid {encoding} data.",
                              {"body": f"invalid {encoding} stream"}) from None
    if len(body) > limit:
        raise RequestRejected(413, "payload_too_large",
                              f"The request body inflates to more than {limit} bytes.",
                              {"body": f"at most {limit} bytes uncompressed"})
    if not inflater.eof:
        raise RequestRejected(400, "bad_encoding", f"The {encoding} stream is truncated.",
                              {"body": f"truncated {encoding} stream"})
    return body


def parse_time(value: Any, name: str, errors: dict[str, str]) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors[name] = "must be an ISO-8601 date-time string"
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors[name] = "must be an ISO-8601 date-time, e.g. 2026-11-23T12:00:00Z"
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _depth_and_keys(value: Any, depth: int = 0) -> tuple[int, int]:
    """Deepest nesting and total number of keys of a JSON value."""
    if isinstance(value, dict):
        deepest, keys = depth, len(value)
        for item in value.values():
            d, k = _depth_and_keys(item, depth + 1)
            deepest, keys = max(deepest, d), keys + k
        return deepest, keys
    if isinstance(value, list):
        deepest, keys = depth, 0
        for item in value:
            d, k = _depth_and_keys(item, depth + 1)
            deepest, keys = max(deepest, d), keys + k
        return deepest, keys
    return depth, 0


def _id(value: Any, name: str, errors: dict[str, str]) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        errors[name] = "must be a string"
        return ""
    text = str(value)
    if len(text) > MAX_ID_CHARS:
        errors[name] = f"at most {MAX_ID_CHARS} characters"
        return ""
    return text


def validate_message(message: Any, *, kind: str | None, received_at: datetime, sent_at: datetime | None,
                     size: int) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Normalise one message; returns (message, {}) or (None, {field: reason})."""
    errors: dict[str, str] = {}
    if not isinstance(message, dict):
        return None, {"message": "must be a JSON object"}
    if size > MAX_MESSAGE_BYTES:
        return None, {"message": f"at most {MAX_MESSAGE_BYTES} bytes of JSON, got {size}"}
    mtype = message.get("type", kind)
    if kind is not None and mtype != kind:
        errors["type"] = f"must be {kind!r} on /v1/{kind}"
    elif mtype not in MESSAGE_TYPES:
        errors["type"] = f"one of {', '.join(MESSAGE_TYPES)}"
    user_id = _id(message.get("userId"), "userId", errors)
    anonymous_id = _id(message.get("anonymousId"), "anonymousId", errors)
    if not user_id and not anonymous_id and "userId" not in errors and "anonymousId" not in errors:
        errors["userId"] = "userId or anonymousId is required"
    out: dict[str, Any] = {"type": mtype, "userId": user_id, "anonymousId": anonymous_id}
    for name in OBJECT_FIELDS:
        value = message.get(name)
        if value is None:
            out[name] = {}
            continue
        if not isinstance(value, dict):
            errors[name] = "must be an object"
            continue
        depth, keys = _depth_and_keys(value)
        if keys > MAX_PROPERTY_KEYS:
            errors[name] = f"at most {MAX_PROPERTY_KEYS} keys in all, got {keys}"
        elif depth > MAX_DEPTH:
            errors[name] = f"nested at most {MAX_DEPTH} levels deep"
        else:
            out[name] = value
    if mtype == "track":
        event = message.get("event")
        if not isinstance(event, str) or not event.strip():
            errors["event"] = "a non-empty string is required for track"
        elif len(event) > MAX_EVENT_CHARS:
            errors["event"] = f"at most {MAX_EVENT_CHARS} characters"
        else:
            out["event"] = event.strip()
    elif mtype in ("page", "screen"):
        name = message.get("name")
        if name is not None and not isinstance(name, str):
            errors["name"] = "must be a string"
        out["name"] = (name or "")[:MAX_EVENT_CHARS] if isinstance(name, str) else ""
        category = message.get("category")
        out["category"] = category[:MAX_EVENT_CHARS] if isinstance(category, str) else ""
    elif mtype == "group":
        out["groupId"] = _id(message.get("groupId"), "groupId", errors)
        if not out["groupId"] and "groupId" not in errors:
            errors["groupId"] = "required for group"
    elif mtype == "alias":
        out["previousId"] = _id(message.get("previousId"), "previousId", errors)
        if not out["previousId"] and "previousId" not in errors:
            errors["previousId"] = "required for alias"
        if not user_id and "userId" not in errors:
            errors["userId"] = "required for alias"
    message_id = message.get("messageId")
    if message_id is None or message_id == "":
        out["messageId"] = f"cx-{uuid.uuid4()}"
    elif not isinstance(message_id, str | int) or isinstance(message_id, bool):
        errors["messageId"] = "must be a string"
    elif len(str(message_id)) > MAX_MESSAGE_ID_CHARS:
        errors["messageId"] = f"at most {MAX_MESSAGE_ID_CHARS} characters"
    else:
        out["messageId"] = str(message_id)
    original = parse_time(message.get("timestamp") if message.get("timestamp") is not None
                          else message.get("originalTimestamp"), "timestamp", errors)
    own_sent_at = parse_time(message.get("sentAt"), "sentAt", errors)
    sent = own_sent_at or sent_at
    if original is None:
        timestamp = received_at
    elif sent is not None:
        # Clock-skew correction: the client's clock error cancels out of (sentAt - timestamp).
        timestamp = received_at - (sent - original)
    else:
        timestamp = original
    if "timestamp" not in errors and timestamp > received_at + MAX_FUTURE:
        errors["timestamp"] = (f"is {int((timestamp - received_at).total_seconds())} s in the future "
                               f"(after clock-skew correction); at most {int(MAX_FUTURE.total_seconds())} s")
    if errors:
        return None, errors
    out["timestamp"] = timestamp.isoformat()
    if original is not None:
        out["originalTimestamp"] = original.isoformat()
    return out, {}


def load_json(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestRejected(400, "invalid_json", f"The body is not valid JSON: {exc}.",
                              {"body": "invalid JSON"}) from None
    if not isinstance(payload, dict):
        raise RequestRejected(400, "invalid_json", "The body must be a JSON object.", {"body": "must be an object"})
    return payload


def body_write_key(payload: dict[str, Any]) -> str:
    key = payload.get("writeKey")
    return key if isinstance(key, str) else ""


def validate_payload(endpoint: str, payload: dict[str, Any], *, body_size: int, received_at: datetime) -> Parsed:
    """Accepted and rejected messages of a request; raises RequestRejected when nothing can be accepted
    from a single-message request or the batch itself is malformed."""
    parsed = Parsed(write_key=body_write_key(payload))
    if endpoint in ("batch", "import"):
        items = payload.get("batch")
        if not isinstance(items, list):
            raise RequestRejected(400, "validation_error", "A batch needs a 'batch' array of messages.",
                                  {"batch": "must be an array"})
        if not items:
            raise RequestRejected(400, "validation_error", "The batch is empty.", {"batch": "at least one message"})
        errors: dict[str, str] = {}
        sent_at = parse_time(payload.get("sentAt"), "sentAt", errors)
        if errors:
            raise RequestRejected(400, "validation_error", "The batch's sentAt is invalid.", errors)
        for index, item in enumerate(items):
            size = len(json.dumps(item, separators=(",", ":"))) if isinstance(item, dict) else 0
            message, problems = validate_message(item, kind=None, received_at=received_at, sent_at=sent_at,
                                                 size=size)
            if message is None:
                parsed.rejected.append({
                    "index": index,
                    "messageId": item.get("messageId") if isinstance(item, dict) else None,
                    "code": "message_too_large" if size > MAX_MESSAGE_BYTES else "validation_error",
                    "fields": problems,
                })
            else:
                parsed.accepted.append(message)
        if not parsed.accepted:
            fields = {f"batch[{r['index']}].{name}": reason for r in parsed.rejected
                      for name, reason in r["fields"].items()}
            raise RequestRejected(400, "validation_error", "No message of the batch is valid.", fields)
        return parsed
    message, problems = validate_message(payload, kind=endpoint, received_at=received_at, sent_at=None,
                                         size=body_size)
    if message is None:
        if body_size > MAX_MESSAGE_BYTES:
            raise RequestRejected(413, "payload_too_large", f"A message may be at most {MAX_MESSAGE_BYTES} bytes.",
                                  problems)
        raise RequestRejected(400, "validation_error", f"The {endpoint} message is invalid.", problems)
    parsed.accepted.append(message)
    return parsed


def body_limit(endpoint: str) -> int:
    # A single message may carry a writeKey besides its 32 KB; the message itself is measured separately.
    return MAX_BATCH_BYTES if endpoint in ("batch", "import") else MAX_MESSAGE_BYTES + 1024
