"""Every analysis against its brute-force definition on generated journeys, on DuckDB and (when the suite runs
on PostgreSQL) on PostgreSQL too."""

import duckdb
import pytest
from django.db import connection

from cx.journeys import analytics as A
from cx.journeys.catalog import CatalogEntry
from cx.journeys.store import COLUMN_NAMES, TABLE, DuckEngine, PostgresEngine
from cx.journeys.tests import analytics_data as D

ROWS = D.generate()
ENGINES = ["duckdb", "postgres"] if connection.vendor == "postgresql" else ["duckdb"]
CATALOG = [
    CatalogEntry(1, "A", "", "", "Ad click", "awareness", "ads", "marketing"),
    CatalogEntry(2, "B", "", "", "Product view", "consideration", "web", "marketing"),
    CatalogEntry(3, "C", "", "", "Checkout", "purchase", "web", "sales"),
    CatalogEntry(4, "C", "plan", "pro", "Pro checkout", "purchase", "web", "sales"),
    CatalogEntry(5, "D", "", "", "Feature use", "usage", "app", "product"),
    CatalogEntry(6, "page", "path", "/help", "Help centre", "support", "web", "support"),
]


@pytest.fixture(params=ENGINES)
def engine(request):
    if request.param == "duckdb":
        con = duckdb.connect()
        eng = DuckEngine(con)
        eng.ensure_schema()
        eng.insert_rows(TABLE, COLUMN_NAMES, D.as_tuples(ROWS))
        yield eng
        con.close()
    else:
        request.getfixturevalue("db")
        eng = PostgresEngine()
        eng.ensure_schema()
        eng.insert_rows(TABLE, COLUMN_NAMES, D.as_tuples(ROWS))
        yield eng


def _expected_counts(brute, n):
    by_bd = {}
    for bd, t in brute.values():
        counts = by_bd.setdefault(bd, [0] * n)
        for i in range(n):
            if t[i] is not None:
                counts[i] += 1
    return by_bd


FUNNELS = [
    A.FunnelSpec(steps=(A.FunnelStep("A"), A.FunnelStep("B"), A.FunnelStep("C"), A.FunnelStep("D")),
                 start_ms=D.START, end_ms=D.END, window_seconds=10 * 86400),
    A.FunnelSpec(steps=(A.FunnelStep("A", (A.PropertyFilter("plan", "neq", "free"),)),
                        A.FunnelStep("X", optional=True),
                        A.FunnelStep("C", window_seconds=3 * 86400),
                        A.FunnelStep("D", (A.PropertyFilter("amount", "gt", "30"),))),
                 start_ms=D.START, end_ms=D.END - 10 * D.DAY, window_seconds=20 * 86400, breakdown="plan",
                 exclusions=(A.FunnelExclusion("B", 0, 2, (A.PropertyFilter("plan", "eq", "team"),)),)),
    A.FunnelSpec(steps=(A.FunnelStep("page", (A.PropertyFilter("path", "contains", "product"),)),
                        A.FunnelStep("B"), A.FunnelStep("ticket.created")),
                 start_ms=D.START, end_ms=D.END, breakdown="path"),
]


@pytest.mark.parametrize("spec", FUNNELS, ids=["plain", "filters-optional-exclusion-breakdown", "pages"])
def test_funnel_matches_brute_force(engine, spec):
    brute = D.brute_funnel(D.ROWS if False else ROWS, spec)
    result = A.funnel_run(engine, spec)
    expected = _expected_counts(brute, len(spec.steps))
    assert {r.breakdown: r.counts for r in result.rows} == expected
    assert sum(expected.get(bd, [0])[0] for bd in expected) > 20  # the data exercises the funnel
    # Median time from entry to the last step for those who completed, per breakdown.
    import statistics

    for row in result.rows:
        done = [(t[-1] - t[0]) / 1000 for bd, t in brute.values() if bd == row.breakdown and t[-1] is not None]
        if done:
            assert row.median_total_seconds == pytest.approx(statistics.median(done))
    # Drop-off lists: who reached the first step and not the next required one.
    total_drop = sorted(p for p, (bd, t) in brute.items() if t[0] is not None and t[next(
        i for i, s in enumerate(spec.steps) if i > 0 and not s.optional)] is None)
    assert [p for p, _ in A.funnel_dropoff(engine, spec, step=0, limit=10_000)] == total_drop


def test_funnel_rejects_bad_specs():
    from cx.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        A.funnel_sql(A.FunnelSpec(steps=(A.FunnelStep("A"),), start_ms=1, end_ms=2), A.Dialect("duckdb"))
    assert "steps" in info.value.fields
    with pytest.raises(ValidationFailed) as info:
        A.funnel_sql(A.FunnelSpec(steps=(A.FunnelStep("A"), A.FunnelStep("B", optional=True)), start_ms=1,
                                  end_ms=2), A.Dialect("duckdb"))
    assert info.value.fields["steps"] == "the first and the last step cannot be optional"


@pytest.mark.parametrize("direction", ["after", "before"])
def test_paths_match_brute_force(engine, direction):
    spec = A.PathSpec(event="B", start_ms=D.START, end_ms=D.END, direction=direction, steps=3,
                      rules=(A.CleaningRule(r"^page /product/\d+$", "page /product/:id"),))
    result = A.paths_run(engine, spec)
    expected = D.brute_paths(ROWS, spec)
    assert {(d, a, b): n for d, a, b, n in result["links"]} == dict(expected)
    assert any(label == "page /product/:id" for _, label, _ in result["nodes"])


def test_retention_matches_brute_force(engine):
    spec = A.RetentionSpec(start_event="A", return_event="D", start_ms=D.START, end_ms=D.END, period_days=7,
                           periods=6)
    assert A.retention_run(engine, spec) == D.brute_retention(ROWS, spec)


@pytest.mark.parametrize("outcome", ["support", "churn", "low_score"])
def test_friction_matches_brute_force(engine, outcome):
    spec = A.FrictionSpec(outcome=outcome, start_ms=D.START, end_ms=D.END, lookback_days=10, churn_days=10,
                          score_max=5, min_people=3)
    result = A.friction_run(engine, CATALOG, spec)
    total, positives, counts = D.brute_friction(ROWS, CATALOG, spec)
    assert (result["people"], result["with_outcome"]) == (total, positives)
    assert {r["touchpoint"]: (r["people"], r["with_outcome"]) for r in result["touchpoints"]} == counts
    lifts = [r["lift"] for r in result["touchpoints"]]
    assert lifts == sorted(lifts, reverse=True)


def test_journey_map_matches_brute_force(engine):
    result = A.journey_map_run(engine, CATALOG, start_ms=D.START, end_ms=D.END)
    expected = D.brute_journey_map(ROWS, CATALOG, D.START, D.END)
    assert {(r["stage"], r["touchpoint"]) for r in result} == set(expected)
    for row in result:
        cell = expected[(row["stage"], row["touchpoint"])]
        assert (row["events"], row["people"]) == (cell["events"], cell["people"])
        assert row["conversion"] == pytest.approx(cell["moved"] / cell["people"])
        assert row["contact_rate"] == pytest.approx(cell["contact"] / cell["people"])
        assert row["scored_people"] == len(cell["scores"])
        if cell["scores"]:
            assert row["satisfaction"] == pytest.approx(sum(cell["scores"]) / len(cell["scores"]))
    owners = {r["touchpoint"]: r["department"] for r in result}
    assert owners["Pro checkout"] == "sales" and owners["ticket.created"] == "support"


def test_stage_conversion_matches_brute_force(engine):
    import statistics

    result = {r["stage"]: r for r in A.stage_conversion_run(engine, CATALOG, start_ms=D.START, end_ms=D.END)}
    expected = D.brute_stage_conversion(ROWS, CATALOG, D.START, D.END)
    for stage, row in result.items():
        cell = expected.get(stage, {"entered": 0, "moved": 0, "durations": []})
        assert (row["entered"], row["moved_on"]) == (cell["entered"], cell["moved"])
        if cell["durations"]:
            assert row["median_seconds_in_stage"] == pytest.approx(statistics.median(cell["durations"]))
