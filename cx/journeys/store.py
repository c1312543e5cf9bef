"""The analytics store: one wide ``analytics_events`` table on a columnar engine.

DuckDB (a file under CXDESK_HOME/analytics) is the default; PostgreSQL (the Django database) is the other
supported engine (CXDESK_ANALYTICS_ENGINE=postgres). The same SQL (cx.journeys.analytics) runs on both.

Only the loader (cx.tracking.loader, one at a time) writes; web processes read. DuckDB lets one process
write or many read a file, so both sides hold the file briefly and retry while the other has it.

Columns: ``message_id`` and ``source`` (unique together: de-duplication), ``type`` (track, page, screen,
touchpoint), ``event`` (the event name or touchpoint kind), ``person_id`` (the tracked profile; anonymous
ids merged into their person), ``customer_id`` (the helpdesk customer, when known), ``ts_ms`` /
``received_ms`` (UTC epoch milliseconds: integer arithmetic is portable and fast), ``channel`` and ``stage``
(set for internal touchpoints; tracked events get theirs from the touchpoint catalog), ``properties`` (JSON).
"""

from __future__ import annotations

import abc
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

TABLE = "analytics_events"
COLUMNS: tuple[tuple[str, str], ...] = (
    ("message_id", "VARCHAR(160) NOT NULL"),
    ("source", "VARCHAR(64) NOT NULL"),
    ("type", "VARCHAR(16) NOT NULL"),
    ("event", "VARCHAR(200) NOT NULL"),
    ("person_id", "BIGINT NOT NULL"),
    ("customer_id", "BIGINT"),
    ("ts_ms", "BIGINT NOT NULL"),
    ("received_ms", "BIGINT NOT NULL"),
    ("channel", "VARCHAR(32)"),
    ("stage", "VARCHAR(16)"),
    ("properties", "TEXT"),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)
LOCK_WAIT_SECONDS = 30.0


def engine_name() -> str:
    name = settings.CXDESK_ANALYTICS_ENGINE
    if name not in ("duckdb", "postgres"):
        raise ValueError(f"CXDESK_ANALYTICS_ENGINE must be duckdb or postgres, got {name!r}")
    return name


def duckdb_path() -> Path:
    path = Path(settings.CXDESK_HOME) / "analytics"
    path.mkdir(parents=True, exist_ok=True)
    return path / "events.duckdb"


def schema_statements(dialect: str) -> list[str]:
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
    return [
        f"CREATE TABLE IF NOT EXISTS {TABLE} ({columns})",
        "CREATE TABLE IF NOT EXISTS analytics_progress (name VARCHAR(255) PRIMARY KEY, position BIGINT NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS analytics_events_person_idx ON {TABLE} (person_id)"
        if dialect == "postgres" else "SELECT 1",
        f"CREATE INDEX IF NOT EXISTS analytics_events_msg_idx ON {TABLE} (message_id)"
        if dialect == "postgres" else "SELECT 1",
    ]


class Engine(abc.ABC):
    """A connection to the analytics store with the few operations the loader and the queries need."""

    dialect = ""

    @abc.abstractmethod
    def fetch(self, sql: str) -> list[tuple]: ...

    @abc.abstractmethod
    def execute(self, sql: str) -> None: ...

    @abc.abstractmethod
    def insert_rows(self, table: str, names: Sequence[str], rows: list[tuple]) -> None: ...

    def ensure_schema(self) -> None:
        for statement in schema_statements(self.dialect):
            self.execute(statement)

    def get_progress(self, name: str) -> int | None:
        rows = self.fetch(f"SELECT position FROM analytics_progress WHERE name = {lit(name)}")
        return int(rows[0][0]) if rows else None

    def begin(self) -> None:
        """Start the store transaction (PostgreSQL: the caller's Django transaction is used)."""
        return None

    def commit(self) -> None:
        """Commit the store transaction."""
        return None

    def rollback(self) -> None:
        """Roll the store transaction back."""
        return None

    def set_progress(self, name: str, position: int) -> None:
        self.execute(f"DELETE FROM analytics_progress WHERE name = {lit(name)}")
        self.execute(f"INSERT INTO analytics_progress (name, position) VALUES ({lit(name)}, {int(position)})")


class DuckEngine(Engine):
    dialect = "duckdb"

    def __init__(self, con) -> None:
        self.con = con

    def fetch(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def execute(self, sql: str) -> None:
        # DuckDB 2 wants every result consumed before the connection does anything else.
        self.con.execute(sql).fetchall()

    def insert_rows(self, table: str, names: Sequence[str], rows: list[tuple]) -> None:
        import pyarrow as pa

        # In chunks: DuckDB 2.0.0 silently inserted nothing from one registered Arrow table of ~170,000 rows
        # into a temporary table of a file database (seen in benchmarks/journeys.py); 50,000 rows are fine.
        for start in range(0, len(rows), 50_000):
            chunk = rows[start:start + 50_000]
            columns = list(zip(*chunk, strict=True))
            batch = pa.table({name: list(values) for name, values in zip(names, columns, strict=True)})
            before = self.con.execute(f"SELECT COUNT(*) FROM {table}").fetchall()[0][0]
            self.con.register("_cx_rows", batch)
            try:
                self.con.execute(f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(names)} "
                                 "FROM _cx_rows").fetchall()
            finally:
                self.con.unregister("_cx_rows")
            inserted = self.con.execute(f"SELECT COUNT(*) FROM {table}").fetchall()[0][0] - before
            if inserted != len(chunk):
                raise RuntimeError(f"DuckDB stored {inserted} of {len(chunk)} rows in {table}")

    def begin(self) -> None:
        self.execute("BEGIN TRANSACTION")

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        self.execute("ROLLBACK")


class PostgresEngine(Engine):
    """The Django database connection (PostgreSQL), used inside the caller's transaction."""

    dialect = "postgres"

    def fetch(self, sql: str) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql.replace("%", "%%"))
            return cursor.fetchall()

    def execute(self, sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql.replace("%", "%%"))

    def insert_rows(self, table: str, names: Sequence[str], rows: list[tuple]) -> None:
        if not rows:
            return
        placeholders = "(" + ", ".join(["%s"] * len(names)) + ")"
        with connection.cursor() as cursor:
            for start in range(0, len(rows), 1000):
                chunk = rows[start:start + 1000]
                cursor.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES "
                               + ", ".join([placeholders] * len(chunk)), [v for row in chunk for v in row])


def lit(value: Any) -> str:
    """A SQL literal that is valid on DuckDB and PostgreSQL (queries are built from validated values)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("\x00", "")
    return "'" + text.replace("'", "''") + "'"


def _duck_connect(*, read_only: bool):
    import duckdb

    path = duckdb_path()
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            if read_only and not path.exists():
                con = duckdb.connect(str(path))
                DuckEngine(con).ensure_schema()
                con.close()
            con = duckdb.connect(str(path), read_only=read_only)
            return con
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def store_engine(*, write: bool = False) -> Iterator[Engine]:
    """The configured analytics store; ``write`` only for the loader."""
    if engine_name() == "postgres":
        engine = PostgresEngine()
        if write:
            engine.ensure_schema()
        yield engine
        return
    con = _duck_connect(read_only=not write)
    try:
        engine = DuckEngine(con)
        if write:
            engine.ensure_schema()
        yield engine
    finally:
        con.close()
