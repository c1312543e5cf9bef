"""The Tracking API through Django's test client: status codes, limits, per-message errors, loading."""

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from cx.journeys.store import store_engine
from cx.tracking.loader import load_all


def _auth(key: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def _post(path: str, payload, key: str | None = None, *, gz: bool = False, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = _auth(key) if key else {}
    if gz:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return Client().generic("POST", path, body, content_type="application/json", headers=headers)


def _events(where: str = "1 = 1"):
    with store_engine() as engine:
        return engine.fetch(f"SELECT message_id, type, event, person_id, ts_ms, properties FROM analytics_events "
                            f"WHERE {where} ORDER BY ts_ms, message_id")


@pytest.mark.django_db
def test_track_is_accepted_and_loaded(source):
    response = _post("/v1/track", {"userId": "u1", "event": "Order Completed", "messageId": "m1",
                                   "properties": {"total": 10}}, source.write_key)
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True}
    load_all()
    rows = _events()
    assert [(r[0], r[1], r[2]) for r in rows] == [("m1", "track", "Order Completed")]
    assert json.loads(rows[0][5]) == {"total": 10}


@pytest.mark.django_db
def test_write_key_in_body_and_gzip(source):
    response = _post("/v1/batch", {"writeKey": source.write_key, "batch": [
        {"type": "page", "anonymousId": "a1", "name": "Home", "messageId": "p1"}]}, gz=True)
    assert response.status_code == 200
    load_all()
    assert _events()[0][2] == "page"


@pytest.mark.django_db
def test_unknown_missing_and_revoked_keys_are_401(source, admin_user):
    assert _post("/v1/track", {"userId": "u", "event": "x"}).status_code == 401
    bad = _post("/v1/track", {"userId": "u", "event": "x"}, "wk_nope")
    assert bad.status_code == 401 and bad.json()["error"]["fields"] == {"writeKey": "unknown or revoked"}
    from cx.tracking.services import source_revoke

    source_revoke(actor=admin_user, source=source.source)
    assert _post("/v1/track", {"userId": "u", "event": "x"}, source.write_key).status_code == 401


@pytest.mark.django_db
def test_bad_json_missing_ids_and_bad_gzip_are_400(source):
    response = _post("/v1/track", None, source.write_key, raw=b"{not json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"
    missing = _post("/v1/track", {"event": "x"}, source.write_key)
    assert missing.status_code == 400
    assert missing.json()["error"]["fields"]["userId"] == "userId or anonymousId is required"
    broken = Client().generic("POST", "/v1/track", b"\x1f\x8b garbage", content_type="application/json",
                              headers={**_auth(source.write_key), "Content-Encoding": "gzip"})
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "bad_encoding"
    assert _post("/v1/track", {"userId": "u"}, source.write_key).json()["error"]["fields"] == {
        "event": "a non-empty string is required for track"}


@pytest.mark.django_db
def test_sizes_over_the_limits_are_413(source):
    big = {"userId": "u", "event": "x", "properties": {"blob": "x" * 33_000}}
    assert _post("/v1/track", big, source.write_key).status_code == 413
    batch = {"batch": [{"type": "track", "userId": "u", "event": "x", "properties": {"b": "y" * 20_000}}
                       for _ in range(30)]}
    assert _post("/v1/batch", batch, source.write_key).status_code == 413
    # Compression does not get around the limit: the inflated size counts.
    assert _post("/v1/batch", batch, source.write_key, gz=True).status_code == 413


@pytest.mark.django_db
def test_a_batch_reports_bad_messages_and_keeps_the_good_ones(source):
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    batch = {"batch": [
        {"type": "track", "userId": "u1", "event": "Good", "messageId": "g1"},
        {"type": "track", "event": "No id", "messageId": "b1"},
        {"type": "track", "userId": "u1", "event": "Future", "timestamp": future, "messageId": "b2"},
        {"type": "track", "userId": "u1", "event": "Props", "properties": "not an object", "messageId": "b3"},
        {"type": "track", "userId": "u1", "event": "Huge", "messageId": "b4",
         "properties": {f"k{i}": i for i in range(1500)}},
        {"type": "track", "userId": "u1", "event": "Big", "messageId": "b5", "properties": {"x": "z" * 40_000}},
        {"type": "nonsense", "userId": "u1", "messageId": "b6"},
        {"type": "track", "userId": ["list"], "event": "Wrong type", "messageId": "b7"},
        {"type": "track", "userId": "u1", "event": "Bad time", "timestamp": "yesterday", "messageId": "b8"},
        {"type": "track", "userId": "u1", "event": "Good too", "messageId": "g2"},
    ]}
    response = _post("/v1/batch", batch, source.write_key)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accepted"] == 2
    problems = {r["messageId"]: r for r in body["rejected"]}
    assert problems["b1"]["fields"] == {"userId": "userId or anonymousId is required"}
    assert "in the future" in problems["b2"]["fields"]["timestamp"]
    assert problems["b3"]["fields"] == {"properties": "must be an object"}
    assert "at most 1000 keys" in problems["b4"]["fields"]["properties"]
    assert problems["b5"]["code"] == "message_too_large"
    assert "type" in problems["b6"]["fields"]
    assert problems["b7"]["fields"] == {"userId": "must be a string"}
    assert "ISO-8601" in problems["b8"]["fields"]["timestamp"]
    assert [r["index"] for r in body["rejected"]] == [1, 2, 3, 4, 5, 6, 7, 8]
    load_all()
    assert [r[0] for r in _events()] == ["g1", "g2"]


@pytest.mark.django_db
def test_a_batch_with_only_bad_messages_is_400(source):
    response = _post("/v1/batch", {"batch": [{"type": "track", "event": "x"}]}, source.write_key)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"batch[0].userId": "userId or anonymousId is required"}


@pytest.mark.django_db
def test_message_ids_are_deduplicated_across_requests_and_runs(source):
    message = {"userId": "u1", "event": "Clicked", "messageId": "same"}
    for _ in range(3):
        assert _post("/v1/track", message, source.write_key).status_code == 200
    load_all()
    assert _post("/v1/batch", {"batch": [{**message, "type": "track"}, {**message, "type": "track"}]},
                 source.write_key).status_code == 200
    load_all()
    assert len(_events()) == 1


@pytest.mark.django_db
def test_clock_skew_is_corrected(source):
    # The client's clock runs one hour fast: its timestamp and sentAt are both an hour ahead.
    now = datetime.now(UTC)
    skewed = now + timedelta(hours=1)
    response = _post("/v1/batch", {"sentAt": skewed.isoformat(), "batch": [
        {"type": "track", "userId": "u", "event": "E", "messageId": "s1",
         "timestamp": (skewed - timedelta(minutes=10)).isoformat()}]}, source.write_key)
    assert response.status_code == 200, response.content
    load_all()
    ts_ms = _events()[0][4]
    expected = (now - timedelta(minutes=10)).timestamp() * 1000
    assert abs(ts_ms - expected) < 5_000


@pytest.mark.django_db
def test_overload_answers_429_with_retry_after(source, settings):
    settings.CXDESK_TRACKING_MAX_INFLIGHT = -1
    response = _post("/v1/track", {"userId": "u", "event": "x"}, source.write_key)
    assert response.status_code == 429 and response["Retry-After"] == "1"


@pytest.mark.django_db
def test_spool_backlog_answers_429(source, monkeypatch, settings):
    from cx.tracking import handler

    settings.CXDESK_TRACKING_MAX_BACKLOG_MB = 0
    monkeypatch.setattr(handler._Load, "backlog_checked", 0.0)
    assert _post("/v1/track", {"userId": "u", "event": "x"}, source.write_key).status_code == 200
    monkeypatch.setattr(handler._Load, "backlog_checked", 0.0)
    blocked = _post("/v1/track", {"userId": "u", "event": "y"}, source.write_key)
    assert blocked.status_code == 429 and blocked["Retry-After"] == "5"
    load_all()
    monkeypatch.setattr(handler._Load, "backlog_checked", 0.0)
    assert _post("/v1/track", {"userId": "u", "event": "z"}, source.write_key).status_code == 200


@pytest.mark.django_db
def test_unknown_endpoint_and_method(source):
    assert _post("/v1/nope", {"userId": "u"}, source.write_key).status_code == 404
    assert Client().get("/v1/track").status_code == 405
    preflight = Client().options("/v1/batch")
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == "*"


@pytest.mark.django_db
def test_a_torn_spool_record_is_skipped_and_the_rest_loads(source):
    from cx.tracking.spool import spool_dir

    response = _post("/v1/track", {"userId": "u", "event": "Before", "messageId": "t1"}, source.write_key)
    assert response.status_code == 200
    path = next(spool_dir().glob("*.spool"))
    with open(path, "ab") as handle:  # a crash in the middle of a write leaves half a record
        handle.write(b"CXS1 500 deadbeef\n{\"s\": 1, \"r\": 0, \"m\": [")
    load_all()
    assert [r[0] for r in _events()] == ["t1"]


@pytest.mark.django_db
def test_loaded_and_torn_spool_files_are_removed_once_idle(source):
    import os
    import time

    from cx.tracking import loader
    from cx.tracking.spool import spool_dir

    assert _post("/v1/track", {"userId": "u", "event": "E", "messageId": "i1"}, source.write_key).status_code == 200
    path = next(spool_dir().glob("*.spool"))
    torn = spool_dir() / "crashed-1-x.spool"
    torn.write_bytes(b"CXS1 999 00000000\n{\"s\":")
    old = time.time() - loader.IDLE_FILE_SECONDS - 5
    load_all()
    assert path.exists() and torn.exists()  # still fresh
    os.utime(path, (old, old))
    os.utime(torn, (old, old))
    load_all()
    assert not path.exists() and not torn.exists()
    assert [r[0] for r in _events()] == ["i1"]


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_tick_loads_through_a_task(source):
    from cx.core.periodic import run_due_jobs

    assert _post("/v1/track", {"userId": "u", "event": "E", "messageId": "p1"}, source.write_key).status_code == 200
    assert "tracking.load" in run_due_jobs(only={"tracking.load"})
    assert [r[0] for r in _events()] == ["p1"]


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_tick_enqueues_nothing_when_nothing_is_pending(source, monkeypatch):
    from cx.tracking import loader, tasks

    load_all()
    assert not loader.work_pending()
    calls = []
    monkeypatch.setattr(tasks, "load_for", lambda seconds: calls.append(seconds))
    from cx.core.periodic import run_due_jobs

    run_due_jobs(only={"tracking.load"})
    assert calls == []
    assert _post("/v1/track", {"userId": "u", "event": "E"}, source.write_key).status_code == 200
    assert loader.work_pending()
    from cx.core.models import PeriodicJobRun

    PeriodicJobRun.objects.filter(name="tracking.load").update(last_started_at=None)
    run_due_jobs(only={"tracking.load"})
    assert calls == [20.0]
