"""The loader: moves spooled events (and internal touchpoints) into the analytics store.

One loader runs at a time (a file lock). Each run reads complete spool records after the position stored in
the analytics store, resolves identities, and in ONE store transaction inserts the new events (skipping any
(source, messageId) seen in the last 7 days), applies pending person merges/erasures and advances the spool
positions — so a crash at any point neither loses nor doubles an event. Tracked events of people linked to a
helpdesk customer are also appended to the customer's timeline (idempotent by messageId).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cx.journeys.catalog import CatalogIndex, catalog_entries, event_kind
from cx.journeys.models import Stage, Touchpoint
from cx.journeys.services import touchpoints_record_bulk
from cx.journeys.store import COLUMN_NAMES, TABLE, Engine, store_engine
from cx.tracking.identity import Resolver, profiles_for_customers
from cx.tracking.models import Source, StoreChange
from cx.tracking.spool import read_records, spool_dir

logger = logging.getLogger("cx.tracking")

DEDUP_WINDOW_MS = 7 * 24 * 3600 * 1000
IDLE_FILE_SECONDS = 600
MAX_BYTES_PER_RUN = 64 * 1024 * 1024
TOUCHPOINT_OVERLAP = 2000
TOUCHPOINTS_PER_RUN = 50_000
EVENT_TYPES = ("track", "page", "screen")


def _tracking_dir() -> Path:
    path = Path(settings.CXDESK_HOME) / "tracking"
    path.mkdir(parents=True, exist_ok=True)
    return path


def loaded_positions() -> dict[str, int]:
    """Spool positions already in the store (written by the loader after each run), for backlog checks."""
    try:
        return json.loads((_tracking_dir() / "loaded.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}


@contextmanager
def _loader_lock() -> Iterator[bool]:
    with open(_tracking_dir() / "loader.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _iso_ms(text: str) -> int:
    return _ms(datetime.fromisoformat(text))


def _event_name(message: dict[str, Any]) -> str:
    return message["event"] if message["type"] == "track" else message["type"]


def _event_properties(message: dict[str, Any]) -> dict[str, Any]:
    properties = dict(message.get("properties") or {})
    if message["type"] in ("page", "screen"):
        for key in ("name", "category"):
            if message.get(key) and key not in properties:
                properties[key] = message[key]
    return properties


def load_pending(*, max_bytes: int = MAX_BYTES_PER_RUN) -> dict[str, Any]:
    """One loader run; returns what it did (``busy`` when another loader holds the lock)."""
    with _loader_lock() as locked:
        if not locked:
            return {"busy": True}
        with store_engine(write=True) as engine:
            if engine.dialect == "postgres":
                with transaction.atomic():
                    return _run(engine, max_bytes=max_bytes)
            return _run(engine, max_bytes=max_bytes)


def load_for(seconds: float) -> None:
    """Loader runs back to back while there is a backlog, for at most about ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = load_pending()
        if result.get("busy") or (not result.get("records") and not result.get("touchpoints_seen")):
            return


def work_pending() -> bool:
    """Cheap check: spool bytes not loaded yet, or touchpoints newer than the last loaded one."""
    positions = loaded_positions()
    for path in spool_dir().glob("*.spool"):
        try:
            if path.stat().st_size > positions.get(path.name, 0):
                return True
        except FileNotFoundError:
            continue
    try:
        seen = int((_tracking_dir() / "touchpoints.json").read_text())
    except (FileNotFoundError, ValueError):
        seen = 0
    newest = Touchpoint.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return newest > seen


def load_periodic(now: datetime) -> None:
    """The scheduler's tick: when there is work, it runs as a task after the scheduler's transaction commits,
    so the loader's own transactions (profiles, timeline) never nest in it."""
    from cx.tracking.tasks import tracking_load

    if work_pending():
        transaction.on_commit(tracking_load.enqueue)


def load_all() -> dict[str, int]:
    """Load what was spooled before the call, and new touchpoints (commands and tests); traffic that keeps
    arriving meanwhile is left to the next run."""
    target = {}
    for path in spool_dir().glob("*.spool"):
        try:
            target[path.name] = path.stat().st_size
        except FileNotFoundError:
            continue
    totals = {"records": 0, "events": 0, "inserted": 0, "touchpoints": 0, "runs": 0}
    for _ in range(100_000):
        result = load_pending()
        if result.get("busy"):
            time.sleep(0.05)
            continue
        totals["runs"] += 1
        for key in ("records", "events", "inserted", "touchpoints"):
            totals[key] += result.get(key, 0)
        positions = loaded_positions()
        behind = any(positions.get(name, 0) < size for name, size in target.items()
                     if (spool_dir() / name).exists())
        if result.get("touchpoints_seen"):
            continue
        # A record torn by a crash never completes: stop once a run finds nothing new.
        if not behind or not result.get("records"):
            break
    return totals


def _read_spool(engine: Engine, max_bytes: int) -> tuple[list[tuple[int, int, dict]], dict[str, int], int]:
    progress = dict(engine.fetch("SELECT name, position FROM analytics_progress WHERE name LIKE 'spool:%'"))
    messages: list[tuple[int, int, dict]] = []
    positions: dict[str, int] = {}
    records = 0
    budget = max_bytes
    for path in sorted(spool_dir().glob("*.spool"), key=lambda p: p.name):
        start = int(progress.get(f"spool:{path.name}", 0))
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        positions[path.name] = start
        if size <= start or budget <= 0:
            continue
        found, end = read_records(path, start, max_bytes=min(budget, size - start))
        if not found and end == start and size - start > budget:
            found, end = read_records(path, start, max_bytes=size - start)  # one record larger than the budget
        budget -= end - start
        positions[path.name] = end
        records += len(found)
        for record in found:
            for message in record["m"]:
                messages.append((int(record["s"]), int(record["r"]), message))
    return messages, positions, records


def _run(engine: Engine, *, max_bytes: int) -> dict[str, Any]:
    messages, positions, records = _read_spool(engine, max_bytes)
    catalog = CatalogIndex(catalog_entries())
    channels = dict(Source.objects.values_list("pk", "channel"))
    resolver = Resolver()
    with transaction.atomic():
        resolver.prepare([m for _, _, m in messages])
        for _, _, message in messages:
            resolver.apply(message)
        resolver.customers_bulk({resolver.person(m.get("userId") or m["anonymousId"]) for _, _, m in messages
                                 if m["type"] in EVENT_TYPES})
    rows: list[tuple] = []
    timeline: list[dict[str, Any]] = []
    for source_id, received_ms, message in messages:
        if message["type"] not in EVENT_TYPES:
            continue
        person = resolver.person(message.get("userId") or message["anonymousId"])
        customer_id = resolver.customer(person)
        properties = _event_properties(message)
        name = _event_name(message)[:200]
        ts_ms = _iso_ms(message["timestamp"])
        rows.append((message["messageId"], f"src:{source_id}", message["type"], name, person, customer_id, ts_ms,
                     received_ms, None, None, json.dumps(properties, separators=(",", ":"))))
        if customer_id is not None:
            timeline.append(_timeline_row(catalog, channels, source_id, message["messageId"], message["type"], name,
                                          customer_id, ts_ms, properties))
    touchpoint_rows, touchpoints_seen, touchpoint_last = _internal_touchpoints(engine)
    rows.extend(touchpoint_rows)
    changes = list(StoreChange.objects.filter(applied_at__isnull=True).order_by("pk")[:10_000])
    linked = {p: c for p in resolver.touched if (c := resolver.customer(p)) is not None}

    engine.begin()
    try:
        inserted = _insert_deduplicated(engine, rows)
        for change in changes:
            if change.kind == StoreChange.Kind.MERGE:
                engine.execute(f"UPDATE {TABLE} SET person_id = {int(change.into_profile_id)} "
                               f"WHERE person_id = {int(change.profile_id)}")
            else:
                engine.execute(f"UPDATE {TABLE} SET properties = '{{}}' WHERE person_id = {int(change.profile_id)}")
        backfill = _link_customers(engine, linked)
        for name, position in positions.items():
            engine.set_progress(f"spool:{name}", position)
        if touchpoint_last is not None:
            engine.set_progress("touchpoints", touchpoint_last)
        engine.commit()
    except Exception:
        engine.rollback()
        raise
    if changes:
        StoreChange.objects.filter(pk__in=[c.pk for c in changes]).update(applied_at=timezone.now())
    timeline.extend(_backfill_rows(engine, backfill, catalog, channels))
    if timeline:
        touchpoints_record_bulk(timeline)
    _write_status(positions)
    if touchpoint_last is not None or not touchpoints_seen:
        newest = Touchpoint.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        seen = touchpoint_last if touchpoint_last is not None else newest
        (_tracking_dir() / "touchpoints.json").write_text(str(seen))
    _cleanup(positions)
    return {"records": records, "events": len(rows) - len(touchpoint_rows), "inserted": inserted,
            "touchpoints": len(touchpoint_rows), "touchpoints_seen": touchpoints_seen, "changes": len(changes)}


def _timeline_row(catalog: CatalogIndex, channels: dict[int, str], source_id: int, message_id: str, mtype: str,
                  name: str, customer_id: int, ts_ms: int, properties: dict) -> dict[str, Any]:
    entry = catalog.match(name, properties)
    return {
        "customer_id": customer_id, "kind": event_kind(mtype, name),
        "channel": entry.channel if entry else channels.get(source_id, "web"),
        "stage": entry.stage if entry else Stage.USAGE,
        "occurred_at": datetime.fromtimestamp(ts_ms / 1000, UTC),
        "properties": {"event": name, **properties} if mtype == "track" else properties,
        "source": f"tracking:{source_id}", "external_id": message_id,
    }


def _insert_deduplicated(engine: Engine, rows: list[tuple]) -> int:
    if not rows:
        return 0
    columns = ", ".join(COLUMN_NAMES)
    engine.execute("DROP TABLE IF EXISTS cx_staged")
    engine.execute(f"CREATE TEMPORARY TABLE cx_staged AS SELECT {columns} FROM {TABLE} WHERE 1 = 0")
    engine.insert_rows("cx_staged", COLUMN_NAMES, rows)
    since = min(row[7] for row in rows) - DEDUP_WINDOW_MS
    before = engine.fetch(f"SELECT COUNT(*) FROM {TABLE} WHERE received_ms >= {since}")[0][0]
    engine.execute(
        f"INSERT INTO {TABLE} ({columns}) SELECT {columns} FROM ("
        f"SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.source, s.message_id ORDER BY s.received_ms) AS cx_rn "
        f"FROM cx_staged s) x WHERE x.cx_rn = 1 AND NOT EXISTS (SELECT 1 FROM {TABLE} e "
        f"WHERE e.source = x.source AND e.message_id = x.message_id AND e.received_ms >= {since})"
    )
    after = engine.fetch(f"SELECT COUNT(*) FROM {TABLE} WHERE received_ms >= {since}")[0][0]
    engine.execute("DROP TABLE cx_staged")
    return int(after) - int(before)


def _internal_touchpoints(engine: Engine) -> tuple[list[tuple], int, int | None]:
    last = engine.get_progress("touchpoints") or 0
    found = list(
        Touchpoint.objects.filter(pk__gt=max(0, last - TOUCHPOINT_OVERLAP)).exclude(source__startswith="tracking:")
        .order_by("pk").values_list("pk", "customer_id", "kind", "channel", "stage", "occurred_at", "recorded_at",
                                    "properties")[:TOUCHPOINTS_PER_RUN]
    )
    new = [row for row in found if row[0] > last]
    if not new:
        return [], 0, None
    people = profiles_for_customers({row[1] for row in found})
    rows = [(f"tp:{pk}", "touchpoint", "touchpoint", kind[:200], people[customer_id], customer_id,
             _ms(occurred_at), _ms(recorded_at), channel, stage, json.dumps(properties or {}, separators=(",", ":")))
            for pk, customer_id, kind, channel, stage, occurred_at, recorded_at, properties in found]
    return rows, len(new), max(row[0] for row in found)


def _link_customers(engine: Engine, linked: dict[int, int]) -> dict[int, int]:
    """Events of people who just became (or merged into) a known customer get the customer id."""
    for person, customer_id in linked.items():
        engine.execute(f"UPDATE {TABLE} SET customer_id = {int(customer_id)} "
                       f"WHERE person_id = {int(person)} AND customer_id IS NULL")
    return linked


def _backfill_rows(engine: Engine, linked: dict[int, int], catalog: CatalogIndex,
                   channels: dict[int, str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for person, customer_id in linked.items():
        found = engine.fetch(
            f"SELECT message_id, source, type, event, ts_ms, properties FROM {TABLE} WHERE person_id = {int(person)} "
            f"AND type IN ('track', 'page', 'screen') ORDER BY ts_ms LIMIT 5000")
        for message_id, source, mtype, name, ts_ms, properties in found:
            source_id = int(source.split(":", 1)[1])
            rows.append(_timeline_row(catalog, channels, source_id, message_id, mtype, name, customer_id, ts_ms,
                                      json.loads(properties or "{}")))
    return rows


def _write_status(positions: dict[str, int]) -> None:
    target = _tracking_dir() / "loaded.json"
    temp = target.with_suffix(".tmp")
    temp.write_text(json.dumps(positions))
    os.replace(temp, target)


def _cleanup(positions: dict[str, int]) -> None:
    """Delete spool files that are fully loaded and no longer written (rotated, or their process is gone)."""
    now = time.time()
    for name, position in positions.items():
        path = spool_dir() / name
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if now - stat.st_mtime <= IDLE_FILE_SECONDS:
            continue
        if stat.st_size != position:
            # An idle file whose rest holds no complete record ends in a record torn by a crash: it was
            # never acknowledged, so the rest is dropped with the file.
            found, _ = read_records(path, position, max_bytes=min(stat.st_size - position, 64 * 1024 * 1024))
            if found:
                continue
            logger.warning("dropping %d bytes of an incomplete record at the end of %s", stat.st_size - position,
                           name)
        path.unlink(missing_ok=True)

