"""Journey analytics written once as portable SQL and run on DuckDB or PostgreSQL (or any engine that speaks
standard SQL with window functions, e.g. Spark SQL — see docs/journeys.md).

Every query reads ``analytics_events`` (cx.journeys.store). Times are epoch milliseconds, so all arithmetic is
integer arithmetic every engine does the same way; the only dialect differences (reading a JSON property,
matching a regular expression) go through :class:`Dialect`. The exact semantics of each analysis are in the
docstrings and in docs/journeys.md; the tests compare every query with a brute-force Python implementation
of the same definition on generated data, on both engines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cx.core.errors import ValidationFailed
from cx.journeys.catalog import DEFAULT_OWNER, CatalogEntry
from cx.journeys.models import Stage
from cx.journeys.store import TABLE, Engine, lit

EVENT_TYPES = "('track', 'page', 'screen', 'touchpoint')"
DAY_MS = 86_400_000
MAX_STEPS = 10
OPS = ("eq", "neq", "contains", "gt", "lt")


class Dialect:
    """The few spellings that differ between engines: duckdb, postgres, spark (Spark SQL, see docs)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def prop(self, key: str, table: str = "") -> str:
        column = f"{table}.properties" if table else "properties"
        if self.name == "postgres":
            return f"(CAST({column} AS jsonb) ->> {lit(key)})"
        if self.name == "spark":
            return f"get_json_object({column}, {lit('$.' + key.replace('.', ''))})"
        return f"json_extract_string({column}, {lit('$.' + _json_key(key))})"

    def prop_dynamic(self, key_sql: str, table: str) -> str:
        if self.name == "postgres":
            return f"(CAST({table}.properties AS jsonb) ->> {key_sql})"
        if self.name == "spark":
            return f"get_json_object({table}.properties, concat('$.', {key_sql}))"
        return f"json_extract_string({table}.properties, '$.\"' || {key_sql} || '\"')"

    def matches(self, expr: str, pattern: str) -> str:
        if self.name == "postgres":
            return f"({expr} ~ {lit(pattern)})"
        if self.name == "spark":
            return f"({expr} RLIKE {lit(pattern)})"
        return f"regexp_matches({expr}, {lit(pattern)})"

    def number(self, expr: str) -> str:
        return f"CAST({expr} AS {'DOUBLE' if self.name == 'spark' else 'DOUBLE PRECISION'})"


def _json_key(key: str) -> str:
    return '"' + key.replace('"', "") + '"'


# --- specs ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PropertyFilter:
    property: str
    op: str
    value: str

    def sql(self, dialect: Dialect, table: str) -> str:
        value = dialect.prop(self.property, table)
        if self.op == "eq":
            return f"{value} = {lit(self.value)}"
        if self.op == "neq":
            return f"({value} IS NULL OR {value} <> {lit(self.value)})"
        if self.op == "contains":
            return f"{value} LIKE {lit('%' + self.value.replace('%', '').replace('_', '') + '%')}"
        if self.op == "gt":
            return f"{dialect.number(value)} > {float(self.value)!r}"
        return f"{dialect.number(value)} < {float(self.value)!r}"

    def test(self, properties: dict) -> bool:
        value = properties.get(self.property)
        text = None if value is None else (value if isinstance(value, str) else _json_text(value))
        if self.op == "eq":
            return text == self.value
        if self.op == "neq":
            return text != self.value
        if self.op == "contains":
            return text is not None and self.value.replace("%", "").replace("_", "") in text
        if text is None:
            return False
        number = float(text)
        return number > float(self.value) if self.op == "gt" else number < float(self.value)


def _json_text(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True)
class FunnelStep:
    event: str
    filters: tuple[PropertyFilter, ...] = ()
    window_seconds: int | None = None  # from the previous required step; None: the funnel's window
    optional: bool = False


@dataclass(frozen=True)
class FunnelExclusion:
    event: str
    after_step: int  # index of a required step (0-based)
    before_step: int
    filters: tuple[PropertyFilter, ...] = ()


@dataclass(frozen=True)
class FunnelSpec:
    steps: tuple[FunnelStep, ...]
    start_ms: int
    end_ms: int
    window_seconds: int = 14 * 86400
    exclusions: tuple[FunnelExclusion, ...] = ()
    breakdown: str | None = None

    def validate(self) -> None:
        errors: dict[str, str] = {}
        if not 2 <= len(self.steps) <= MAX_STEPS:
            errors["steps"] = f"2 to {MAX_STEPS} steps"
        elif self.steps[0].optional or self.steps[-1].optional:
            errors["steps"] = "the first and the last step cannot be optional"
        for i, step in enumerate(self.steps):
            if not step.event:
                errors[f"steps[{i}].event"] = "required"
            if step.window_seconds is not None and step.window_seconds <= 0:
                errors[f"steps[{i}].window_seconds"] = "a positive number of seconds"
            for f in step.filters:
                if f.op not in OPS:
                    errors[f"steps[{i}].filters"] = f"op one of {', '.join(OPS)}"
                elif f.op in ("gt", "lt"):
                    try:
                        float(f.value)
                    except ValueError:
                        errors[f"steps[{i}].filters"] = "gt and lt need a number"
        required = [i for i, s in enumerate(self.steps) if not s.optional]
        for i, exclusion in enumerate(self.exclusions):
            if exclusion.after_step not in required or exclusion.before_step not in required \
                    or exclusion.after_step >= exclusion.before_step:
                errors[f"exclusions[{i}]"] = "between two required steps, the earlier one first"
        if self.window_seconds <= 0:
            errors["window_seconds"] = "a positive number of seconds"
        if self.end_ms <= self.start_ms:
            errors["end"] = "after the start"
        if errors:
            raise ValidationFailed("The funnel is invalid.", fields=errors)


@dataclass
class FunnelRow:
    breakdown: str
    counts: list[int]  # people per step (optional steps: people who did it)
    median_seconds: list[float | None]  # from the previous required step to this one
    avg_seconds: list[float | None]
    median_total_seconds: float | None = None  # entry to the last step, for people who completed


@dataclass
class FunnelResult:
    steps: tuple[FunnelStep, ...]
    rows: list[FunnelRow] = field(default_factory=list)

    @property
    def total(self) -> FunnelRow:
        if len(self.rows) == 1:
            return self.rows[0]
        counts = [sum(r.counts[i] for r in self.rows) for i in range(len(self.steps))]
        return FunnelRow(breakdown="(all)", counts=counts, median_seconds=[None] * len(self.steps),
                         avg_seconds=[None] * len(self.steps))


def _step_condition(step_event: str, filters: tuple[PropertyFilter, ...], dialect: Dialect, table: str) -> str:
    parts = [f"{table}.event = {lit(step_event)}"] + [f.sql(dialect, table) for f in filters]
    return " AND ".join(parts)


def funnel_sql(spec: FunnelSpec, dialect: Dialect) -> str:
    """The per-person funnel (one row per person who entered): t0..tn (NULL when not reached), breakdown."""
    spec.validate()
    events = sorted({s.event for s in spec.steps} | {x.event for x in spec.exclusions})
    window_ms = spec.window_seconds * 1000
    required = [i for i, s in enumerate(spec.steps) if not s.optional]
    first = spec.steps[0]
    horizon = spec.end_ms + sum((s.window_seconds or spec.window_seconds) * 1000 for s in spec.steps)
    breakdown = dialect.prop(spec.breakdown, "b") if spec.breakdown else "''"
    ctes = [
        f"base AS (SELECT person_id, ts_ms, event, properties FROM {TABLE} "
        f"WHERE type IN {EVENT_TYPES} AND event IN ({', '.join(lit(e) for e in events)}) "
        f"AND ts_ms >= {spec.start_ms} AND ts_ms <= {horizon})",
    ]
    if spec.breakdown:
        ctes.append(
            f"c0 AS (SELECT person_id, t0, bd FROM (SELECT b.person_id, b.ts_ms AS t0, {breakdown} AS bd, "
            f"ROW_NUMBER() OVER (PARTITION BY b.person_id ORDER BY b.ts_ms) AS rn FROM base b "
            f"WHERE {_step_condition(first.event, first.filters, dialect, 'b')} AND b.ts_ms < {spec.end_ms}"
            f" AND b.ts_ms >= {spec.start_ms}) x WHERE rn = 1)")
    else:
        ctes.append(
            f"c0 AS (SELECT b.person_id, MIN(b.ts_ms) AS t0, '' AS bd FROM base b "
            f"WHERE {_step_condition(first.event, first.filters, dialect, 'b')} AND b.ts_ms < {spec.end_ms}"
            f" AND b.ts_ms >= {spec.start_ms} GROUP BY b.person_id)")
    carried = ["t0"]
    previous = 0
    for index in required[1:]:
        step = spec.steps[index]
        window = (step.window_seconds * 1000) if step.window_seconds else window_ms
        prev_cte = f"c{previous}"
        ctes.append(
            f"r{index} AS (SELECT p.person_id, MIN(b.ts_ms) AS t FROM {prev_cte} p JOIN base b "
            f"ON b.person_id = p.person_id AND b.ts_ms > p.t{previous} AND b.ts_ms <= p.t{previous} + {window} "
            f"WHERE {_step_condition(step.event, step.filters, dialect, 'b')} GROUP BY p.person_id)")
        cols = ", ".join(f"p.{c}" for c in carried)
        ctes.append(
            f"c{index} AS (SELECT p.person_id, p.bd, {cols}, r.t AS t{index} FROM {prev_cte} p "
            f"LEFT JOIN r{index} r ON r.person_id = p.person_id)")
        carried.append(f"t{index}")
        previous = index
    last = f"c{previous}"
    # Optional steps: done between the surrounding required steps (or within the window when the next
    # required step was not reached).
    optional_cols = []
    for index, step in enumerate(spec.steps):
        if not step.optional:
            continue
        before = max(i for i in required if i < index)
        after = min(i for i in required if i > index)
        after_window = (spec.steps[after].window_seconds or spec.window_seconds) * 1000
        ctes.append(
            f"o{index} AS (SELECT p.person_id, MIN(b.ts_ms) AS t FROM {last} p JOIN base b "
            f"ON b.person_id = p.person_id AND b.ts_ms > p.t{before} "
            f"AND b.ts_ms < COALESCE(p.t{after}, p.t{before} + {after_window} + 1) "
            f"WHERE p.t{before} IS NOT NULL AND {_step_condition(step.event, step.filters, dialect, 'b')} "
            f"GROUP BY p.person_id)")
        optional_cols.append(index)
    exclusion_sql = ""
    if spec.exclusions:
        parts = []
        for exclusion in spec.exclusions:
            parts.append(
                f"SELECT p.person_id FROM {last} p JOIN base b ON b.person_id = p.person_id "
                f"AND b.ts_ms > p.t{exclusion.after_step} "
                f"AND (p.t{exclusion.before_step} IS NULL OR b.ts_ms < p.t{exclusion.before_step}) "
                f"WHERE p.t{exclusion.after_step} IS NOT NULL AND "
                f"{_step_condition(exclusion.event, exclusion.filters, dialect, 'b')}")
        ctes.append("excluded AS (" + " UNION ".join(parts) + ")")
        exclusion_sql = " WHERE p.person_id NOT IN (SELECT person_id FROM excluded)"
    select = ["p.person_id", "COALESCE(p.bd, '(none)') AS bd"]
    for index in range(len(spec.steps)):
        select.append(f"o{index}.t AS t{index}" if index in optional_cols else f"p.t{index}")
    joins = "".join(f" LEFT JOIN o{i} ON o{i}.person_id = p.person_id" for i in optional_cols)
    return "WITH " + ",\n".join(ctes) + f"\nSELECT {', '.join(select)} FROM {last} p{joins}{exclusion_sql}"


def funnel_aggregate_sql(spec: FunnelSpec, dialect: Dialect) -> str:
    required = [i for i, s in enumerate(spec.steps) if not s.optional]
    parts = ["bd", "COUNT(*) AS n0"]
    for index in range(1, len(spec.steps)):
        parts.append(f"COUNT(t{index}) AS n{index}")
    for index in range(1, len(spec.steps)):
        before = max(i for i in required if i < index)
        delta = f"(t{index} - t{before}) / 1000.0"
        parts.append(f"PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY {delta}) AS med{index}")
        parts.append(f"AVG({delta}) AS avg{index}")
    last = required[-1]
    parts.append(f"PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY (t{last} - t0) / 1000.0) AS medtotal")
    return f"SELECT {', '.join(parts)} FROM ({funnel_sql(spec, dialect)}) f GROUP BY bd ORDER BY n0 DESC, bd"


def funnel_run(engine: Engine, spec: FunnelSpec) -> FunnelResult:
    dialect = Dialect(engine.dialect)
    n = len(spec.steps)
    result = FunnelResult(steps=spec.steps)
    for row in engine.fetch(funnel_aggregate_sql(spec, dialect)):
        counts = [int(v) for v in row[1:1 + n]]
        stats = row[1 + n:1 + n + 2 * (n - 1)]
        med = [None] + [None if stats[2 * i] is None else float(stats[2 * i]) for i in range(n - 1)]
        avg = [None] + [None if stats[2 * i + 1] is None else float(stats[2 * i + 1]) for i in range(n - 1)]
        total = row[-1]
        result.rows.append(FunnelRow(breakdown=str(row[0]), counts=counts, median_seconds=med, avg_seconds=avg,
                                     median_total_seconds=None if total is None else float(total)))
    return result


def funnel_dropoff(engine: Engine, spec: FunnelSpec, *, step: int, breakdown: str | None = None,
                   limit: int = 100) -> list[tuple[int, int | None]]:
    """People who reached required step ``step`` but not the next required one: (person_id, customer_id)."""
    required = [i for i, s in enumerate(spec.steps) if not s.optional]
    if step not in required or step == required[-1]:
        raise ValidationFailed("Pick a required step before the last.", fields={"step": "not a drop-off point"})
    following = min(i for i in required if i > step)
    where = f"f.t{step} IS NOT NULL AND f.t{following} IS NULL"
    if breakdown is not None:
        where += f" AND f.bd = {lit(breakdown)}"
    sql = (f"SELECT f.person_id, (SELECT MAX(e.customer_id) FROM {TABLE} e WHERE e.person_id = f.person_id) "
           f"FROM ({funnel_sql(spec, Dialect(engine.dialect))}) f WHERE {where} ORDER BY f.person_id "
           f"LIMIT {int(limit)}")
    return [(int(p), None if c is None else int(c)) for p, c in engine.fetch(sql)]


# --- paths ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CleaningRule:
    pattern: str
    label: str


@dataclass(frozen=True)
class PathSpec:
    event: str
    start_ms: int
    end_ms: int
    direction: str = "after"  # or before
    steps: int = 3
    rules: tuple[CleaningRule, ...] = ()

    def validate(self) -> None:
        errors = {}
        if not self.event:
            errors["event"] = "required"
        if self.direction not in ("after", "before"):
            errors["direction"] = "after or before"
        if not 1 <= self.steps <= 10:
            errors["steps"] = "1 to 10"
        for i, rule in enumerate(self.rules):
            try:
                re.compile(rule.pattern)
            except re.error as exc:
                errors[f"rules[{i}].pattern"] = f"not a valid regular expression: {exc}"
        if errors:
            raise ValidationFailed("The path query is invalid.", fields=errors)


def _label_sql(dialect: Dialect, rules: tuple[CleaningRule, ...]) -> str:
    raw = (f"CASE WHEN type IN ('page', 'screen') THEN type || ' ' || COALESCE({dialect.prop('path')}, "
           f"{dialect.prop('name')}, '') ELSE event END")
    if not rules:
        return raw
    cases = " ".join(f"WHEN {dialect.matches(raw, r.pattern)} THEN {lit(r.label)}" for r in rules)
    return f"CASE {cases} ELSE {raw} END"


def path_label(mtype: str, event: str, properties: dict, rules: tuple[CleaningRule, ...] = ()) -> str:
    """The same label in Python (used by tests and the brute-force reference)."""
    page = mtype in ("page", "screen")
    raw = f"{mtype} {properties.get('path') or properties.get('name') or ''}" if page else event
    for rule in rules:
        if re.search(rule.pattern, raw):
            return rule.label
    return raw


def paths_run(engine: Engine, spec: PathSpec) -> dict[str, Any]:
    """From each person's first ``event`` in the range, the next (or previous) N events.

    Returns ``nodes`` [(depth, label, people)] and ``links`` [(depth, from, to, people)] where depth 1 is the
    first step away from the anchor (depth 0). Events are ordered by time, then event name, then message id.
    """
    spec.validate()
    dialect = Dialect(engine.dialect)
    label = _label_sql(dialect, spec.rules)
    if spec.direction == "after":
        window = f"b.rn > a.arn AND b.rn <= a.arn + {spec.steps}"
        depth = "b.rn - a.arn"
    else:
        window = f"b.rn < a.arn AND b.rn >= a.arn - {spec.steps}"
        depth = "a.arn - b.rn"
    sql = (
        f"WITH base AS (SELECT person_id, event, {label} AS label, ROW_NUMBER() OVER (PARTITION BY person_id "
        f"ORDER BY ts_ms, event, message_id) AS rn FROM {TABLE} WHERE type IN {EVENT_TYPES} "
        f"AND ts_ms >= {spec.start_ms} AND ts_ms < {spec.end_ms}),\n"
        f"anchor AS (SELECT person_id, MIN(rn) AS arn FROM base WHERE event = {lit(spec.event)} GROUP BY person_id),\n"
        f"steps AS (SELECT b.person_id, {depth} AS depth, b.label FROM base b JOIN anchor a "
        f"ON a.person_id = b.person_id WHERE {window}\n"
        f"UNION ALL SELECT b.person_id, 0 AS depth, b.label FROM base b JOIN anchor a ON a.person_id = b.person_id "
        f"AND b.rn = a.arn)\n"
        f"SELECT s.depth, p.label, s.label, COUNT(*) FROM steps s JOIN steps p ON p.person_id = s.person_id "
        f"AND p.depth = s.depth - 1 GROUP BY s.depth, p.label, s.label "
        f"ORDER BY s.depth, COUNT(*) DESC, p.label, s.label"
    )
    links = [(int(d), str(a), str(b), int(n)) for d, a, b, n in engine.fetch(sql)]
    nodes: dict[tuple[int, str], int] = {}
    for d, _, to, n in links:
        nodes[(d, to)] = nodes.get((d, to), 0) + n
    anchors = engine.fetch(
        f"SELECT COUNT(DISTINCT person_id) FROM {TABLE} WHERE type IN {EVENT_TYPES} AND event = {lit(spec.event)} "
        f"AND ts_ms >= {spec.start_ms} AND ts_ms < {spec.end_ms}")[0][0]
    return {"anchor_people": int(anchors), "links": links,
            "nodes": sorted(((d, label, n) for (d, label), n in nodes.items()), key=lambda x: (x[0], -x[2], x[1]))}


# --- retention -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionSpec:
    start_event: str
    return_event: str
    start_ms: int
    end_ms: int
    period_days: int = 7
    periods: int = 8


def retention_run(engine: Engine, spec: RetentionSpec) -> list[dict[str, Any]]:
    """Cohorts by the period of each person's first ``start_event`` in the range; period k counts people with
    a ``return_event`` at [first + k*P, first + (k+1)*P) (k = 0 includes the first event itself if the events
    are the same). Returns [{"cohort_ms", "size", "retained": [k0, k1, ...]}]."""
    if not spec.start_event or not spec.return_event:
        raise ValidationFailed("Retention needs two events.", fields={"start_event": "required"})
    if not 1 <= spec.period_days <= 90 or not 1 <= spec.periods <= 52:
        raise ValidationFailed("Retention periods out of range.",
                               fields={"periods": "1 to 52 periods of 1 to 90 days"})
    p = spec.period_days * DAY_MS
    horizon = spec.end_ms + p * spec.periods
    sql = (
        f"WITH firsts AS (SELECT person_id, MIN(ts_ms) AS f FROM {TABLE} WHERE type IN {EVENT_TYPES} "
        f"AND event = {lit(spec.start_event)} AND ts_ms >= {spec.start_ms} AND ts_ms < {spec.end_ms} "
        f"GROUP BY person_id),\n"
        f"cohorts AS (SELECT person_id, f, CAST(FLOOR((f - {spec.start_ms}) / {float(p)!r}) AS BIGINT) AS c "
        f"FROM firsts),\n"
        f"returns AS (SELECT DISTINCT c.person_id, c.c, CAST(FLOOR((e.ts_ms - c.f) / {float(p)!r}) AS BIGINT) AS k "
        f"FROM cohorts c JOIN {TABLE} e ON e.person_id = c.person_id AND e.event = {lit(spec.return_event)} "
        f"AND e.type IN {EVENT_TYPES} AND e.ts_ms >= c.f AND e.ts_ms < c.f + {p * spec.periods} "
        f"AND e.ts_ms < {horizon})\n"
        f"SELECT c, -1 AS k, COUNT(*) FROM cohorts GROUP BY c UNION ALL SELECT c, k, COUNT(*) FROM returns "
        f"GROUP BY c, k ORDER BY 1, 2"
    )
    cohorts: dict[int, dict[str, Any]] = {}
    for c, k, n in engine.fetch(sql):
        row = cohorts.setdefault(int(c), {"cohort_ms": spec.start_ms + int(c) * p, "size": 0,
                                          "retained": [0] * spec.periods})
        if int(k) < 0:
            row["size"] = int(n)
        else:
            row["retained"][int(k)] = int(n)
    return [cohorts[c] for c in sorted(cohorts)]


# --- catalog-mapped relations (stages, friction, journey map) ------------------------------------------------

STAGE_ORDER = list(Stage.values)


def _catalog_values(entries: list[CatalogEntry]) -> str:
    rows = [(e.id, e.event, e.property_name, e.property_value, e.name, e.stage, e.channel, e.department)
            for e in entries] or [(0, "\x01none", "", "", "", "", "", "")]
    values = ", ".join("(" + ", ".join(lit(v) for v in row) + ")" for row in rows)
    return (f"cat AS (SELECT * FROM (VALUES {values}) AS v(id, event, property_name, property_value, name, stage, "
            f"channel, department))")


def _mapped_ctes(dialect: Dialect, entries: list[CatalogEntry], start_ms: int, end_ms: int) -> list[str]:
    stage_idx = "CASE " + " ".join(f"WHEN st = {lit(s)} THEN {i}" for i, s in enumerate(STAGE_ORDER)) + " END"
    owner = "CASE " + " ".join(f"WHEN st = {lit(s)} THEN {lit(d)}" for s, d in DEFAULT_OWNER.items()) + " END"
    return [
        _catalog_values(entries),
        f"ev0 AS (SELECT e.person_id, e.ts_ms, e.event, e.type, e.properties, "
        f"COALESCE(e.stage, cp.stage, c0.stage) AS st, COALESCE(cp.name, c0.name, e.event) AS touchpoint, "
        f"COALESCE(cp.department, c0.department) AS dept FROM {TABLE} e "
        f"LEFT JOIN cat cp ON cp.event = e.event AND cp.property_name <> '' "
        f"AND {dialect.prop_dynamic('cp.property_name', 'e')} = cp.property_value "
        f"LEFT JOIN cat c0 ON c0.event = e.event AND c0.property_name = '' "
        f"WHERE e.type IN {EVENT_TYPES} AND e.ts_ms >= {start_ms} AND e.ts_ms < {end_ms})",
        f"ev AS (SELECT person_id, ts_ms, event, type, properties, st AS stage, {stage_idx} AS stage_idx, touchpoint, "
        f"COALESCE(dept, {owner}) AS department FROM ev0)",
    ]


def stage_conversion_run(engine: Engine, entries: list[CatalogEntry], *, start_ms: int, end_ms: int
                         ) -> list[dict[str, Any]]:
    """Per stage: people who entered it (first event of the stage), how many of them later entered a later
    stage, and the median/average time until they did (time in stage)."""
    dialect = Dialect(engine.dialect)
    ctes = [*_mapped_ctes(dialect, entries, start_ms, end_ms),
        "firsts AS (SELECT person_id, stage, stage_idx, MIN(ts_ms) AS t FROM ev WHERE stage_idx IS NOT NULL "
        "GROUP BY person_id, stage, stage_idx)",
        "nexts AS (SELECT f.person_id, f.stage, MIN(g.t) AS t_next FROM firsts f JOIN firsts g "
        "ON g.person_id = f.person_id AND g.stage_idx > f.stage_idx AND g.t > f.t GROUP BY f.person_id, f.stage)",
    ]
    sql = ("WITH " + ",\n".join(ctes) +
           "\nSELECT f.stage, COUNT(*), COUNT(n.t_next), "
           "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY (n.t_next - f.t) / 1000.0), AVG((n.t_next - f.t) / 1000.0) "
           "FROM firsts f LEFT JOIN nexts n ON n.person_id = f.person_id AND n.stage = f.stage GROUP BY f.stage")
    found = {row[0]: row for row in engine.fetch(sql)}
    out = []
    for stage in STAGE_ORDER:
        row = found.get(stage)
        entered = int(row[1]) if row else 0
        moved = int(row[2]) if row else 0
        out.append({"stage": stage, "entered": entered, "moved_on": moved,
                    "conversion": moved / entered if entered else None,
                    "median_seconds_in_stage": float(row[3]) if row and row[3] is not None else None,
                    "avg_seconds_in_stage": float(row[4]) if row and row[4] is not None else None})
    return out


@dataclass(frozen=True)
class FrictionSpec:
    outcome: str  # support, churn, low_score
    start_ms: int
    end_ms: int
    lookback_days: int = 14
    churn_days: int = 30
    score_max: float = 6.0
    min_people: int = 5

    def validate(self) -> None:
        errors = {}
        if self.outcome not in ("support", "churn", "low_score"):
            errors["outcome"] = "support, churn or low_score"
        if not 1 <= self.lookback_days <= 365:
            errors["lookback_days"] = "1 to 365"
        if errors:
            raise ValidationFailed("The friction query is invalid.", fields=errors)


SURVEY_KIND = "survey_answered"


def friction_run(engine: Engine, entries: list[CatalogEntry], spec: FrictionSpec) -> dict[str, Any]:
    """Touchpoints that precede an outcome more often than average, ranked by lift.

    For every person a reference time: the first outcome (support: first support-stage event; low_score: first
    survey answer with score <= score_max) or, for people without it, their last event + 1 ms (low_score:
    only people who answered a survey, referenced at their first answer). Churned people are those whose last
    event is more than churn_days before the end of the range, referenced at their last event + 1 ms.
    A touchpoint "precedes" when the person had it in [reference - lookback, reference). lift = P(outcome |
    touchpoint) / P(outcome); touchpoints seen by fewer than ``min_people`` people are left out.
    """
    spec.validate()
    dialect = Dialect(engine.dialect)
    lookback = spec.lookback_days * DAY_MS
    score = dialect.number(dialect.prop("score"))
    if spec.outcome == "support":
        outcome = "stage = 'support'"
        excluded = "COALESCE(stage, '') = 'support'"
        persons = ("SELECT person_id, CASE WHEN MIN(CASE WHEN " + outcome + " THEN ts_ms END) IS NULL THEN 0 ELSE 1 END"
                   " AS pos, COALESCE(MIN(CASE WHEN " + outcome + " THEN ts_ms END), MAX(ts_ms) + 1) AS r "
                   "FROM ev GROUP BY person_id")
    elif spec.outcome == "low_score":
        low = f"event = {lit(SURVEY_KIND)} AND {score} <= {float(spec.score_max)!r}"
        excluded = f"event = {lit(SURVEY_KIND)}"
        persons = (f"SELECT person_id, CASE WHEN MIN(CASE WHEN {low} THEN ts_ms END) IS NULL THEN 0 ELSE 1 END AS pos, "
                   f"COALESCE(MIN(CASE WHEN {low} THEN ts_ms END), MIN(CASE WHEN event = {lit(SURVEY_KIND)} "
                   f"THEN ts_ms END)) AS r FROM ev GROUP BY person_id "
                   f"HAVING MIN(CASE WHEN event = {lit(SURVEY_KIND)} THEN ts_ms END) IS NOT NULL")
    else:
        cutoff = spec.end_ms - spec.churn_days * DAY_MS
        excluded = "1 = 0"
        persons = (f"SELECT person_id, CASE WHEN MAX(ts_ms) < {cutoff} THEN 1 ELSE 0 END AS pos, MAX(ts_ms) + 1 AS r "
                   f"FROM ev GROUP BY person_id")
    ctes = [*_mapped_ctes(dialect, entries, spec.start_ms, spec.end_ms),
        f"persons AS ({persons})",
        f"did AS (SELECT DISTINCT e.person_id, e.touchpoint, e.department, p.pos FROM ev e JOIN persons p "
        f"ON p.person_id = e.person_id AND e.ts_ms < p.r AND e.ts_ms >= p.r - {lookback} WHERE NOT ({excluded}))",
    ]
    head = "WITH " + ",\n".join(ctes)
    total, positives = engine.fetch(head + "\nSELECT COUNT(*), COALESCE(SUM(pos), 0) FROM persons")[0]
    rows = engine.fetch(head + f"\nSELECT touchpoint, MAX(department), COUNT(*), SUM(pos) FROM did "
                        f"GROUP BY touchpoint HAVING COUNT(*) >= {int(spec.min_people)}")
    total, positives = int(total), int(positives)
    base = positives / total if total else 0.0
    ranked = []
    for touchpoint, department, people, pos in rows:
        rate = int(pos) / int(people)
        ranked.append({"touchpoint": touchpoint, "department": department, "people": int(people),
                       "with_outcome": int(pos), "rate": rate, "lift": (rate / base) if base else None})
    ranked.sort(key=lambda r: (-(r["lift"] or 0), -r["with_outcome"], r["touchpoint"]))
    return {"people": total, "with_outcome": positives, "base_rate": base, "touchpoints": ranked}


def journey_map_run(engine: Engine, entries: list[CatalogEntry], *, start_ms: int, end_ms: int,
                    follow_days: int = 7) -> list[dict[str, Any]]:
    """Stages x touchpoints: events, people, share of them who later reached a later stage, average survey
    score answered within ``follow_days`` after the touchpoint (surveys: kind survey_answered, property
    score), share who contacted support within ``follow_days`` after it, and the owning department."""
    dialect = Dialect(engine.dialect)
    follow = follow_days * DAY_MS
    score = dialect.number(dialect.prop("score"))
    ctes = [*_mapped_ctes(dialect, entries, start_ms, end_ms),
        f"tp AS (SELECT person_id, touchpoint, stage, stage_idx, MAX(department) AS department, MIN(ts_ms) AS t, "
        f"COUNT(*) AS n FROM ev WHERE event <> {lit(SURVEY_KIND)} AND stage_idx IS NOT NULL "
        f"GROUP BY person_id, touchpoint, stage, stage_idx)",
        f"after AS (SELECT tp.person_id, tp.touchpoint, tp.stage, "
        f"MAX(CASE WHEN e.stage_idx > tp.stage_idx THEN 1 ELSE 0 END) AS moved, "
        f"MAX(CASE WHEN e.stage = 'support' AND e.ts_ms <= tp.t + {follow} THEN 1 ELSE 0 END) AS contact, "
        f"AVG(CASE WHEN e.event = {lit(SURVEY_KIND)} AND e.ts_ms <= tp.t + {follow} THEN {score} END) AS score "
        f"FROM tp JOIN ev e ON e.person_id = tp.person_id AND e.ts_ms > tp.t "
        f"GROUP BY tp.person_id, tp.touchpoint, tp.stage)",
    ]
    sql = ("WITH " + ",\n".join(ctes) +
           "\nSELECT tp.stage, tp.touchpoint, MAX(tp.department), SUM(tp.n), COUNT(*), COALESCE(SUM(a.moved), 0), "
           "COALESCE(SUM(a.contact), 0), AVG(a.score), COUNT(a.score) FROM tp LEFT JOIN after a "
           "ON a.person_id = tp.person_id AND a.touchpoint = tp.touchpoint AND a.stage = tp.stage "
           "GROUP BY tp.stage, tp.touchpoint")
    out = []
    for stage, touchpoint, department, events, people, moved, contact, avg_score, scored in engine.fetch(sql):
        people = int(people)
        out.append({"stage": stage, "touchpoint": touchpoint, "department": department, "events": int(events),
                    "people": people, "conversion": int(moved) / people if people else None,
                    "contact_rate": int(contact) / people if people else None,
                    "satisfaction": None if avg_score is None else float(avg_score), "scored_people": int(scored)})
    order = {s: i for i, s in enumerate(STAGE_ORDER)}
    out.sort(key=lambda r: (order.get(r["stage"], 99), -r["people"], r["touchpoint"]))
    return out


def event_names(engine: Engine, *, limit: int = 500) -> list[tuple[str, str, int]]:
    """(event, type, count) of everything stored, most frequent first."""
    return [(str(e), str(t), int(n)) for e, t, n in engine.fetch(
        f"SELECT event, MIN(type), COUNT(*) FROM {TABLE} GROUP BY event ORDER BY COUNT(*) DESC, event "
        f"LIMIT {int(limit)}")]
