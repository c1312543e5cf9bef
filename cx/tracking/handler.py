"""The Tracking API request cycle, shared by the ASGI fast path and the Django view.

A request is authenticated by its source's write key, decoded (gzip), validated message by message and
appended to this process's spool (fsync'd) before it is answered; the loader moves it on later. Nothing here
touches the analytics store, so ingestion never waits for analytics.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from asgiref.sync import sync_to_async
from django.conf import settings

from cx.tracking import ingest
from cx.tracking.spool import encode_record, spool_backlog_bytes, spool_writer

KEY_CACHE_SECONDS = 10.0
BACKLOG_CHECK_SECONDS = 2.0
CORS_HEADERS = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "POST, OPTIONS",
    "access-control-allow-headers": "Authorization, Content-Type, Content-Encoding",
    "access-control-max-age": "86400",
}


@dataclass
class Reply:
    status: int
    body: dict | None
    headers: dict[str, str]

    def content(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


_key_cache: dict[str, tuple[int | None, float]] = {}


def key_cache_clear() -> None:
    _key_cache.clear()


def _lookup_source(digest: str) -> int | None:
    from cx.tracking.models import Source

    row = Source.objects.filter(key_hash=digest, revoked_at__isnull=True).values_list("pk", flat=True).first()
    return row


def _cached_source(digest: str) -> tuple[bool, int | None]:
    hit = _key_cache.get(digest)
    if hit is not None and hit[1] > time.monotonic():
        return True, hit[0]
    return False, None


def _remember(digest: str, source_id: int | None) -> None:
    if len(_key_cache) > 10_000:
        _key_cache.clear()
    _key_cache[digest] = (source_id, time.monotonic() + KEY_CACHE_SECONDS)


class _Load:
    inflight = 0
    backlog_checked = 0.0
    backlog_over = False


def _loaded_offsets_total() -> int:
    from cx.tracking.loader import loaded_positions

    return sum(loaded_positions().values())


def _overloaded() -> Reply | None:
    if _Load.inflight > settings.CXDESK_TRACKING_MAX_INFLIGHT:
        return _too_many("This process is handling too many tracking requests.", retry_after=1)
    now = time.monotonic()
    if now - _Load.backlog_checked > BACKLOG_CHECK_SECONDS:
        _Load.backlog_checked = now
        backlog = spool_backlog_bytes() - _loaded_offsets_total()
        _Load.backlog_over = backlog > settings.CXDESK_TRACKING_MAX_BACKLOG_MB * 1024 * 1024
    if _Load.backlog_over:
        return _too_many("The analytics loader is behind; events are not being accepted for a moment.",
                         retry_after=5)
    return None


def _too_many(message: str, *, retry_after: int) -> Reply:
    return Reply(429, {"error": {"code": "rate_limited", "message": message, "fields": {}}},
                 {"retry-after": str(retry_after)})


def _rejected(exc: ingest.RequestRejected) -> Reply:
    headers = dict(exc.headers)
    if exc.status == 401:
        headers["www-authenticate"] = 'Basic realm="cxdesk tracking"'
    return Reply(exc.status, exc.body(), headers)


def _prepare(endpoint: str, headers: dict[str, str], raw: bytes) -> tuple[dict, str]:
    if endpoint not in ingest.ENDPOINTS:
        raise ingest.RequestRejected(404, "not_found", f"No tracking endpoint /v1/{endpoint}.",
                                     {"path": f"one of {', '.join(ingest.ENDPOINTS)}"})
    body = ingest.decode_body(raw, content_encoding=headers.get("content-encoding", ""),
                              limit=ingest.body_limit(endpoint))
    payload = ingest.load_json(body)
    key = ingest.write_key_from_header(headers.get("authorization", "")) or ingest.body_write_key(payload)
    if not key:
        raise ingest.RequestRejected(401, "unauthorized", "A write key is required (Basic auth user name or "
                                     "writeKey in the body).", {"writeKey": "missing"})
    return payload, key


def _finish(endpoint: str, payload: dict, body_size: int, source_id: int | None,
            received_at: datetime) -> tuple[bytes, Reply]:
    if source_id is None:
        raise ingest.RequestRejected(401, "unauthorized", "The write key is unknown or revoked.",
                                     {"writeKey": "unknown or revoked"})
    parsed = ingest.validate_payload(endpoint, payload, body_size=body_size, received_at=received_at)
    record = encode_record({"s": source_id, "r": int(received_at.timestamp() * 1000), "m": parsed.accepted})
    body: dict = {"success": True}
    if parsed.rejected:
        body.update({"accepted": len(parsed.accepted), "rejected": parsed.rejected})
    return record, Reply(200, body, {})


async def handle_async(endpoint: str, headers: dict[str, str], raw: bytes) -> Reply:
    overloaded = _overloaded()
    if overloaded is not None:
        return overloaded
    _Load.inflight += 1
    try:
        received_at = datetime.now(UTC)
        payload, key = _prepare(endpoint, headers, raw)
        digest = key_hash(key)
        found, source_id = _cached_source(digest)
        if not found:
            source_id = await sync_to_async(_lookup_source, thread_sensitive=False)(digest)
            _remember(digest, source_id)
        record, reply = _finish(endpoint, payload, len(raw), source_id, received_at)
        await spool_writer().append(record)
        return reply
    except ingest.RequestRejected as exc:
        return _rejected(exc)
    finally:
        _Load.inflight -= 1


def handle_sync(endpoint: str, headers: dict[str, str], raw: bytes) -> Reply:
    overloaded = _overloaded()
    if overloaded is not None:
        return overloaded
    _Load.inflight += 1
    try:
        received_at = datetime.now(UTC)
        payload, key = _prepare(endpoint, headers, raw)
        digest = key_hash(key)
        found, source_id = _cached_source(digest)
        if not found:
            source_id = _lookup_source(digest)
            _remember(digest, source_id)
        record, reply = _finish(endpoint, payload, len(raw), source_id, received_at)
        spool_writer().append_sync(record)
        return reply
    except ingest.RequestRejected as exc:
        return _rejected(exc)
    finally:
        _Load.inflight -= 1


class TrackingASGI:
    """Serves /v1/<endpoint> directly (no Django middleware on the hot path); everything else goes on."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/"):
            return await self.app(scope, receive, send)
        endpoint = path[len("/v1/"):].strip("/")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        method = scope.get("method", "GET")
        if method == "OPTIONS":
            return await self._send(send, Reply(204, None, {}))
        if method != "POST":
            return await self._send(send, Reply(405, {"error": {"code": "method_not_allowed",
                                                                "message": "Use POST.", "fields": {}}},
                                                {"allow": "POST, OPTIONS"}))
        limit = ingest.body_limit(endpoint) + 1
        try:
            declared = int(headers.get("content-length") or 0)
        except ValueError:
            declared = 0
        chunks: list[bytes] = []
        size = 0
        too_big = declared > limit * 4
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if not too_big and size <= limit * 4:
                chunks.append(chunk)
            else:
                too_big = True
            if not message.get("more_body"):
                break
        if too_big:
            reply = Reply(413, {"error": {"code": "payload_too_large", "message": "The request body is too large.",
                                          "fields": {"body": f"at most {limit - 1} bytes"}}}, {})
        else:
            reply = await handle_async(endpoint, headers, b"".join(chunks))
        return await self._send(send, reply)

    async def _send(self, send, reply: Reply) -> None:
        content = reply.content()
        headers = {**CORS_HEADERS, **reply.headers}
        if reply.body is not None:
            headers["content-type"] = "application/json"
        headers["content-length"] = str(len(content))
        await send({"type": "http.response.start", "status": reply.status,
                    "headers": [(k.encode(), v.encode()) for k, v in headers.items()]})
        await send({"type": "http.response.body", "body": content})

