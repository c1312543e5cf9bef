"""Generated journeys for the analytics tests, and brute-force Python versions of every analysis."""

from __future__ import annotations

import json
import random
from collections import defaultdict

from cx.journeys import analytics as A
from cx.journeys.catalog import CatalogEntry
from cx.journeys.store import COLUMN_NAMES

DAY = A.DAY_MS
START = 1_700_000_000_000
END = START + 60 * DAY
EVENTS = ["A", "B", "C", "D", "X"]


def generate(seed: int = 7, people: int = 300) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    n = 0
    for person in range(1, people + 1):
        t = START + rng.randrange(0, 50 * DAY)
        for _ in range(rng.randrange(1, 25)):
            t += rng.randrange(1, 3 * DAY)
            n += 1
            kind = rng.random()
            row = {"message_id": f"m{n}", "source": "src:1", "person_id": person, "customer_id": person,
                   "ts_ms": t, "received_ms": t, "channel": None, "stage": None}
            if kind < 0.6:
                row.update(type="track", event=rng.choice(EVENTS),
                           properties={"plan": rng.choice(["free", "pro", "team"]), "amount": rng.randrange(0, 100)})
            elif kind < 0.8:
                row.update(type="page", event="page",
                           properties={"path": rng.choice(["/", "/pricing", f"/product/{rng.randrange(5)}", "/help"])})
            elif kind < 0.9:
                row.update(type="touchpoint", event=rng.choice(["ticket.created", "chat.started"]), channel="email",
                           stage="support", properties={}, source="touchpoint")
            else:
                row.update(type="touchpoint", event="survey_answered", channel="email", stage="loyalty",
                           properties={"score": rng.randrange(0, 11)}, source="touchpoint")
            rows.append(row)
    return rows


def as_tuples(rows: list[dict]) -> list[tuple]:
    return [tuple(json.dumps(r["properties"]) if c == "properties" else r[c] for c in COLUMN_NAMES) for r in rows]


def by_person(rows):
    people = defaultdict(list)
    for r in rows:
        if r["type"] in ("track", "page", "screen", "touchpoint"):
            people[r["person_id"]].append(r)
    for events in people.values():
        events.sort(key=lambda r: (r["ts_ms"], r["event"], r["message_id"]))
    return people


def _matches(r, event, filters):
    return r["event"] == event and all(f.test(r["properties"]) for f in filters)


def brute_funnel(rows, spec: A.FunnelSpec):
    """Per person: [bd, t0..tn] following the definition in cx.journeys.analytics."""
    out = {}
    required = [i for i, s in enumerate(spec.steps) if not s.optional]
    horizon = spec.end_ms + sum((s.window_seconds or spec.window_seconds) * 1000 for s in spec.steps)
    for person, events in by_person(rows).items():
        events = [e for e in events if spec.start_ms <= e["ts_ms"] <= horizon]
        entries = [e for e in events if _matches(e, spec.steps[0].event, spec.steps[0].filters)
                   and e["ts_ms"] < spec.end_ms]
        if not entries:
            continue
        entry = min(entries, key=lambda e: e["ts_ms"])
        t = [None] * len(spec.steps)
        t[0] = entry["ts_ms"]
        bd = ""
        if spec.breakdown:
            value = entry["properties"].get(spec.breakdown)
            bd = "(none)" if value is None else (value if isinstance(value, str) else json.dumps(value))
        prev = 0
        for index in required[1:]:
            step = spec.steps[index]
            window = (step.window_seconds or spec.window_seconds) * 1000
            if t[prev] is None:
                break
            found = [e["ts_ms"] for e in events if _matches(e, step.event, step.filters)
                     and t[prev] < e["ts_ms"] <= t[prev] + window]
            t[index] = min(found) if found else None
            prev = index
        for index, step in enumerate(spec.steps):
            if not step.optional:
                continue
            before = max(i for i in required if i < index)
            after = min(i for i in required if i > index)
            if t[before] is None:
                continue
            limit = t[after] if t[after] is not None else t[before] + (spec.steps[after].window_seconds
                                                                        or spec.window_seconds) * 1000 + 1
            found = [e["ts_ms"] for e in events if _matches(e, step.event, step.filters)
                     and t[before] < e["ts_ms"] < limit]
            t[index] = min(found) if found else None
        excluded = False
        for x in spec.exclusions:
            if t[x.after_step] is None:
                continue
            for e in events:
                if _matches(e, x.event, x.filters) and e["ts_ms"] > t[x.after_step] and (
                        t[x.before_step] is None or e["ts_ms"] < t[x.before_step]):
                    excluded = True
        if not excluded:
            out[person] = (bd, t)
    return out


def brute_paths(rows, spec: A.PathSpec):
    links = defaultdict(int)
    for events in by_person(rows).values():
        events = [e for e in events if spec.start_ms <= e["ts_ms"] < spec.end_ms]
        anchor = next((i for i, e in enumerate(events) if e["event"] == spec.event), None)
        if anchor is None:
            continue
        labels = [A.path_label(e["type"], e["event"], e["properties"], spec.rules) for e in events]
        for depth in range(1, spec.steps + 1):
            i = anchor + depth if spec.direction == "after" else anchor - depth
            j = anchor + depth - 1 if spec.direction == "after" else anchor - depth + 1
            if 0 <= i < len(events):
                links[(depth, labels[j], labels[i])] += 1
    return links


def brute_retention(rows, spec: A.RetentionSpec):
    p = spec.period_days * DAY
    cohorts = defaultdict(lambda: {"size": 0, "retained": [0] * spec.periods})
    for events in by_person(rows).values():
        starts = [e["ts_ms"] for e in events if e["event"] == spec.start_event
                  and spec.start_ms <= e["ts_ms"] < spec.end_ms]
        if not starts:
            continue
        f = min(starts)
        c = (f - spec.start_ms) // p
        cohorts[c]["size"] += 1
        ks = {(e["ts_ms"] - f) // p for e in events
              if e["event"] == spec.return_event and f <= e["ts_ms"] < f + p * spec.periods}
        for k in ks:
            cohorts[c]["retained"][k] += 1
    return [{"cohort_ms": spec.start_ms + c * p, **cohorts[c]} for c in sorted(cohorts)]


def mapped(rows, entries: list[CatalogEntry]):
    """Events with stage, touchpoint and department from the catalog, as the SQL maps them."""
    from cx.journeys.catalog import DEFAULT_OWNER

    out = []
    for r in rows:
        if r["type"] not in ("track", "page", "screen", "touchpoint"):
            continue
        prop_entry = next((c for c in entries if c.event == r["event"] and c.property_name
                           and str(r["properties"].get(c.property_name)) == c.property_value
                           and r["properties"].get(c.property_name) is not None), None)
        plain = next((c for c in entries if c.event == r["event"] and not c.property_name), None)
        entry = prop_entry or plain
        stage = r["stage"] or (entry.stage if entry else None)
        dept = entry.department if entry else (DEFAULT_OWNER.get(stage) if stage else None)
        out.append({**r, "stage": stage, "touchpoint": entry.name if entry else r["event"], "department": dept,
                    "stage_idx": A.STAGE_ORDER.index(stage) if stage else None})
    return out


def brute_friction(rows, entries, spec: A.FrictionSpec):
    events = [e for e in mapped(rows, entries) if spec.start_ms <= e["ts_ms"] < spec.end_ms]
    people = defaultdict(list)
    for e in events:
        people[e["person_id"]].append(e)
    refs = {}
    for person, evs in people.items():
        if spec.outcome == "support":
            hits = [e["ts_ms"] for e in evs if e["stage"] == "support"]
            refs[person] = (1, min(hits)) if hits else (0, max(e["ts_ms"] for e in evs) + 1)
        elif spec.outcome == "low_score":
            answers = [e for e in evs if e["event"] == "survey_answered"]
            if not answers:
                continue
            low = [e["ts_ms"] for e in answers if float(e["properties"]["score"]) <= spec.score_max]
            refs[person] = (1, min(low)) if low else (0, min(e["ts_ms"] for e in answers))
        else:
            last = max(e["ts_ms"] for e in evs)
            refs[person] = (1 if last < spec.end_ms - spec.churn_days * DAY else 0, last + 1)
    counts = defaultdict(lambda: [0, 0])
    lookback = spec.lookback_days * DAY
    for person, (pos, r) in refs.items():
        seen = set()
        for e in people[person]:
            if spec.outcome == "support" and e["stage"] == "support":
                continue
            if spec.outcome == "low_score" and e["event"] == "survey_answered":
                continue
            if r - lookback <= e["ts_ms"] < r:
                seen.add(e["touchpoint"])
        for tp in seen:
            counts[tp][0] += 1
            counts[tp][1] += pos
    total = len(refs)
    positives = sum(p for p, _ in refs.values())
    return total, positives, {tp: tuple(v) for tp, v in counts.items() if v[0] >= spec.min_people}


def brute_journey_map(rows, entries, start_ms, end_ms, follow_days=7):
    events = [e for e in mapped(rows, entries) if start_ms <= e["ts_ms"] < end_ms]
    people = defaultdict(list)
    for e in events:
        people[e["person_id"]].append(e)
    follow = follow_days * DAY
    cells = defaultdict(lambda: {"events": 0, "people": 0, "moved": 0, "contact": 0, "scores": []})
    for evs in people.values():
        groups = defaultdict(list)
        for e in evs:
            if e["event"] != "survey_answered" and e["stage_idx"] is not None:
                groups[(e["stage"], e["touchpoint"])].append(e)
        for (stage, touchpoint), items in groups.items():
            t = min(i["ts_ms"] for i in items)
            idx = items[0]["stage_idx"]
            later = [e for e in evs if e["ts_ms"] > t]
            cell = cells[(stage, touchpoint)]
            cell["events"] += len(items)
            cell["people"] += 1
            cell["moved"] += any(e["stage_idx"] is not None and e["stage_idx"] > idx for e in later)
            cell["contact"] += any(e["stage"] == "support" and e["ts_ms"] <= t + follow for e in later)
            scores = [float(e["properties"]["score"]) for e in later
                      if e["event"] == "survey_answered" and e["ts_ms"] <= t + follow]
            if scores:
                cell["scores"].append(sum(scores) / len(scores))
    return cells


def brute_stage_conversion(rows, entries, start_ms, end_ms):
    events = [e for e in mapped(rows, entries) if start_ms <= e["ts_ms"] < end_ms and e["stage_idx"] is not None]
    firsts = {}
    for e in events:
        key = (e["person_id"], e["stage"])
        if key not in firsts or e["ts_ms"] < firsts[key][0]:
            firsts[key] = (e["ts_ms"], e["stage_idx"])
    out = defaultdict(lambda: {"entered": 0, "moved": 0, "durations": []})
    for (person, stage), (t, idx) in firsts.items():
        following = [g_t for (p, _), (g_t, g_idx) in firsts.items() if p == person and g_idx > idx and g_t > t]
        out[stage]["entered"] += 1
        if following:
            out[stage]["moved"] += 1
            out[stage]["durations"].append((min(following) - t) / 1000)
    return out
