"""The journey SQL on a distributed engine: PySpark in local mode, compared with DuckDB (`make test-spark`).

Not collected by pytest (it needs pyspark and a Java runtime, ~500 MB). It exports the generated test
journeys to Parquet, registers them in Spark as ``analytics_events`` and runs the same funnel, path and
retention SQL (cx.journeys.analytics with Dialect("spark")), then checks Spark's answers equal DuckDB's.
Prints a table and a last line of key=value figures; exits non-zero on any difference.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def main() -> int:
    import django

    django.setup()
    import duckdb
    from pyspark.sql import SparkSession

    from cx.journeys import analytics as A
    from cx.journeys.store import COLUMN_NAMES, TABLE, DuckEngine, Engine
    from cx.journeys.tests import analytics_data as D

    rows = D.generate()
    con = duckdb.connect()
    duck = DuckEngine(con)
    duck.ensure_schema()
    duck.insert_rows(TABLE, COLUMN_NAMES, D.as_tuples(rows))
    parquet = Path(tempfile.mkdtemp(prefix="cxdesk-spark-")) / "events.parquet"
    con.execute(f"COPY {TABLE} TO '{parquet}' (FORMAT parquet)").fetchall()

    spark = (SparkSession.builder.master("local[2]").appName("cxdesk-journeys")
             .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
             .config("spark.sql.parser.escapedStringLiterals", "true").getOrCreate())
    spark.read.parquet(str(parquet)).createOrReplaceTempView(TABLE)

    class SparkEngine(Engine):
        dialect = "spark"

        def fetch(self, sql: str) -> list[tuple]:
            return [tuple(r) for r in spark.sql(sql).collect()]

        def execute(self, sql: str) -> None:
            spark.sql(sql).collect()

        def insert_rows(self, table, names, rows) -> None:
            raise TypeError("the Spark check is read-only")

    engine = SparkEngine()
    checks = []
    started = time.perf_counter()
    for spec in (
        A.FunnelSpec(steps=(A.FunnelStep("A"), A.FunnelStep("B"), A.FunnelStep("C"), A.FunnelStep("D")),
                     start_ms=D.START, end_ms=D.END, window_seconds=10 * 86400),
        A.FunnelSpec(steps=(A.FunnelStep("A", (A.PropertyFilter("plan", "neq", "free"),)),
                            A.FunnelStep("X", optional=True), A.FunnelStep("C", window_seconds=3 * 86400),
                            A.FunnelStep("D")),
                     start_ms=D.START, end_ms=D.END, window_seconds=20 * 86400, breakdown="plan",
                     exclusions=(A.FunnelExclusion("B", 0, 2),)),
    ):
        ours = {r.breakdown: r.counts for r in A.funnel_run(engine, spec).rows}
        theirs = {r.breakdown: r.counts for r in A.funnel_run(duck, spec).rows}
        checks.append(("funnel", ours == theirs))
    path = A.PathSpec(event="B", start_ms=D.START, end_ms=D.END, steps=3,
                      rules=(A.CleaningRule(r"^page /product/\d+$", "page /product/:id"),))
    checks.append(("paths", A.paths_run(engine, path)["links"] == A.paths_run(duck, path)["links"]))
    retention = A.RetentionSpec(start_event="A", return_event="D", start_ms=D.START, end_ms=D.END, periods=6)
    checks.append(("retention", A.retention_run(engine, retention) == A.retention_run(duck, retention)))
    seconds = time.perf_counter() - started
    spark.stop()
    print("| query | Spark = DuckDB |")
    print("|---|---|")
    for name, ok in checks:
        print(f"| {name} | {'yes' if ok else 'NO'} |")
    passed = sum(ok for _, ok in checks)
    print(f"checks={len(checks)} passed={passed} seconds={seconds:.1f}")
    return 0 if passed == len(checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
