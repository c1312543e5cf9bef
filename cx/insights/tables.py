"""The dashboards' tables (cx.core.tables.DataTable) and chart configurations, built from the selectors' figures.

Pages and CSV exports both render these tables, so an export always equals the cells on the screen.
"""

from __future__ import annotations

from typing import Any

from cx.core.tables import NO_DATA, Column, DataTable
from cx.insights.selectors import (
    ExperienceDashboard,
    Kpi,
    LinkReport,
    Proportion,
    ServiceDashboard,
    ServiceFigures,
)
from cx.insights.stats import SMALL_SAMPLE
from cx.surveys.models import SurveyKind
from cx.surveys.selectors import ScoreRow

BLUE, GREEN, AMBER, RED = "#2563eb", "#16a34a", "#d97706", "#dc2626"
SMALL_NOTE = f"Fewer than {SMALL_SAMPLE} observations in some rows (marked *): treat those figures with care."


def _fmt(fmt: str, value: Any) -> str:
    return Column("v", "v", fmt).format(value)


def _change(kpi: Kpi) -> str:
    change = kpi.delta.change
    if change is None:
        return NO_DATA
    arrow = {"up": "▲", "down": "▼", "flat": "="}[kpi.delta.direction]
    if kpi.fmt == "pct":
        text = f"{change:+.1f} pp"
    elif kpi.fmt == "duration":
        text = ("+" if change >= 0 else "-") + _fmt("duration", abs(change))
    elif kpi.fmt == "int":
        text = f"{change:+.0f}"
    else:
        text = f"{change:+.2f}" if kpi.fmt == "float2" else f"{change:+.1f}"
    return f"{arrow} {text}"


def kpi_cards(kpis: list[Kpi]) -> list[dict[str, Any]]:
    cards = []
    for kpi in kpis:
        ci = ""
        if kpi.ci and kpi.ci[0] is not None and kpi.ci[1] is not None:
            ci = f"95% CI {_fmt(kpi.fmt, kpi.ci[0])} - {_fmt(kpi.fmt, kpi.ci[1])}"
        cards.append({"key": kpi.key, "label": kpi.label, "value": _fmt(kpi.fmt, kpi.value),
                      "previous": _fmt(kpi.fmt, kpi.previous), "change": _change(kpi),
                      "direction": kpi.delta.direction, "verdict": kpi.delta.verdict, "n": kpi.n,
                      "small": kpi.n < SMALL_SAMPLE and kpi.fmt != "int", "ci": ci,
                      "business_hours": kpi.business_hours})
    return cards


def kpi_table(slug: str, title: str, kpis: list[Kpi], note: str = "", *, business_hours: bool = True) -> DataTable:
    rows = []
    for kpi in kpis:
        rows.append({"metric": kpi.label, "value": _fmt(kpi.fmt, kpi.value), "previous": _fmt(kpi.fmt, kpi.previous),
                     "change": _change(kpi), "n": kpi.n,
                     "hours": (f"{kpi.business_hours} of {kpi.n}" if kpi.fmt == "duration" and kpi.value is not None
                               else "")})
    columns = [Column("metric", "Metric"), Column("value", "This period", numeric=True),
               Column("previous", "Previous period", numeric=True), Column("change", "Change", numeric=True),
               Column("n", "n", "int", numeric=True)]
    if business_hours:
        columns.append(Column("hours", "In business hours"))
    return DataTable(slug, title, columns, rows, note=note)


def _figures_row(f: ServiceFigures) -> dict[str, Any]:
    return {"created": f.created, "solved": f.solved, "frt": f.first_response.median,
            "nrt": f.next_response.median, "resolution": f.resolution.median,
            "fcr": f.fcr_rate, "reopen": f.reopen_rate, "sla": f.sla_attainment,
            "csat": f.csat.value if f.csat else None, "csat_n": f.csat.n if f.csat else 0, "backlog": f.backlog}


FIGURE_COLUMNS = [
    Column("created", "Created", "int", True), Column("solved", "Solved", "int", True),
    Column("frt", "First response (median)", "duration", True),
    Column("nrt", "Next response (median)", "duration", True),
    Column("resolution", "Resolution (median)", "duration", True),
    Column("fcr", "FCR", "pct", True), Column("reopen", "Reopen rate", "pct", True),
    Column("sla", "SLA attainment", "pct", True), Column("csat", "CSAT", "pct", True),
    Column("csat_n", "CSAT n", "int", True), Column("backlog", "Backlog", "int", True),
]


def service_tables(dashboard: ServiceDashboard) -> dict[str, DataTable]:
    from cx.insights.period import BREAKDOWNS

    label = BREAKDOWNS[dashboard.breakdown]
    kpis = kpi_table("kpis", "Key figures vs the previous period", dashboard.kpis,
                     note=f"Previous period: {dashboard.previous.label}. Durations in business hours where the "
                          "ticket's SLA policy has a business calendar (count in the last column), else 24/7.")
    breakdown = DataTable("breakdown", f"By {label.lower()}", [Column("group", label), *FIGURE_COLUMNS],
                          [{"group": name, **_figures_row(f)} for name, f in dashboard.groups])
    leaderboard = DataTable(
        "leaderboard", "Agent leaderboard (by tickets solved)",
        [Column("rank", "#", "int", True), Column("agent", "Agent"), *FIGURE_COLUMNS[1:10]],
        [{"rank": i + 1, "agent": name, **_figures_row(f)} for i, (name, _, f) in enumerate(dashboard.leaderboard)])
    daily_rows = dashboard.daily if any(d["created"] or d["solved"] for d in dashboard.daily) else []
    daily = DataTable("daily", "Tickets per day", [Column("day", "Day", "date"),
                                                   Column("created", "Created", "int", True),
                                                   Column("solved", "Solved", "int", True)], daily_rows)
    return {"kpis": kpis, "breakdown": breakdown, "leaderboard": leaderboard, "daily": daily}


def service_charts(dashboard: ServiceDashboard) -> dict[str, Any]:
    if not any(d["created"] or d["solved"] for d in dashboard.daily):
        return {}
    labels = [d["day"].isoformat() for d in dashboard.daily]
    return {"volume": {"type": "bar", "data": {"labels": labels, "datasets": [
        {"label": "Created", "data": [d["created"] for d in dashboard.daily], "backgroundColor": BLUE},
        {"label": "Solved", "data": [d["solved"] for d in dashboard.daily], "backgroundColor": GREEN}]},
        "options": {"responsive": True, "animation": False,
                    "scales": {"y": {"beginAtZero": True, "title": {"display": True, "text": "Tickets"}}}}}}


def _score_cells(row: ScoreRow) -> dict[str, Any]:
    return {"n": row.n, "value": row.value, "low": row.ci_low, "high": row.ci_high,
            "small": "*" if row.small_sample and row.n else ""}


def _trend_table(slug: str, title: str, rows: list[ScoreRow], fmt: str) -> DataTable:
    return DataTable(slug, title, [Column("week", "Week of", "text"), Column("n", "n", "int", True),
                                   Column("value", "Score", fmt, True), Column("low", "95% CI low", fmt, True),
                                   Column("high", "95% CI high", fmt, True), Column("small", "Small sample")],
                     [{"week": r.key, **_score_cells(r)} for r in rows],
                     note=SMALL_NOTE if any(r.small_sample for r in rows) else "")


def _trend_chart(rows: list[ScoreRow], label: str, colour: str, y: dict[str, Any]) -> dict[str, Any] | None:
    if not rows:
        return None
    return {"type": "line", "data": {"labels": [r.key for r in rows], "datasets": [
        {"label": label, "data": [r.value for r in rows], "borderColor": colour, "backgroundColor": colour,
         "tension": 0.2},
        {"label": "95% CI high", "data": [r.ci_high for r in rows], "borderColor": "rgba(0,0,0,0)",
         "backgroundColor": "rgba(37,99,235,0.15)", "pointRadius": 0, "fill": "+1"},
        {"label": "95% CI low", "data": [r.ci_low for r in rows], "borderColor": "rgba(0,0,0,0)",
         "backgroundColor": "rgba(37,99,235,0.15)", "pointRadius": 0, "fill": False}]},
        "options": {"responsive": True, "animation": False, "spanGaps": True, "scales": {"y": y}}}


HEAT_KINDS = [(SurveyKind.NPS, "NPS", "float1"), (SurveyKind.CSAT, "CSAT", "pct"), (SurveyKind.CES, "CES", "float2")]


def _heat_level(kind: str, value: float | None) -> str:
    """heat-1 (poor) … heat-5 (good) for the heatmap colouring; "" without data."""
    if value is None:
        return ""
    scaled = {SurveyKind.NPS: (value + 100) / 200, SurveyKind.CSAT: value / 100, SurveyKind.CES: (value - 1) / 6}[kind]
    return f"heat-{min(5, max(1, int(scaled * 5) + 1))}"


def experience_tables(dashboard: ExperienceDashboard) -> dict[str, DataTable]:
    headline = kpi_table("headline", "Survey scores vs the previous period", dashboard.headline,
                         note=f"Previous period: {dashboard.previous.label}. Intervals: NPS ± 1.96 SE, CSAT "
                              "Wilson, CES normal interval of the mean.", business_hours=False)
    nps = _trend_table("nps-trend", "NPS by week", dashboard.nps_trend, "float1")
    ces = _trend_table("ces-trend", "CES by week (mean on the 1-7 scale)", dashboard.ces_trend, "float2")
    columns = [Column("stage", "Journey stage")]
    for kind, label, fmt in HEAT_KINDS:
        columns += [Column(kind, label, fmt, True), Column(f"{kind}_n", f"{label} n", "int", True)]
    heat_rows = []
    for row in dashboard.heatmap:
        cells: dict[str, Any] = {"stage": row.label}
        for kind, _, _ in HEAT_KINDS:
            cells[kind] = row.scores[kind].value
            cells[f"{kind}_n"] = row.scores[kind].n
        heat_rows.append(cells)
    heatmap = DataTable("heatmap", "Touchpoint satisfaction by journey stage", columns, heat_rows,
                        note="Answers in the period whose customer had a touchpoint of the stage in the 30 days "
                             "before answering; n per cell.")
    funnel = DataTable("funnel", dashboard.funnel.name,
                       [Column("label", "Step"), Column("people", "People", "int", True),
                        Column("of_first", "% of first step", "pct", True)],
                       dashboard.funnel.steps, note=dashboard.funnel.error)
    return {"headline": headline, "nps": nps, "ces": ces, "heatmap": heatmap, "funnel": funnel}


def heatmap_levels(dashboard: ExperienceDashboard) -> list[list[str]]:
    """Per heatmap row, the CSS class of each cell (same order as the table's columns)."""
    out = []
    for row in dashboard.heatmap:
        levels = [""]
        for kind, _, _ in HEAT_KINDS:
            levels += [_heat_level(kind, row.scores[kind].value), ""]
        out.append(levels)
    return out


def experience_charts(dashboard: ExperienceDashboard) -> dict[str, Any]:
    charts: dict[str, Any] = {}
    nps = _trend_chart(dashboard.nps_trend, "NPS", BLUE, {"min": -100, "max": 100, "title": {"display": True,
                                                                                            "text": "NPS"}})
    if nps:
        charts["nps"] = nps
    ces = _trend_chart(dashboard.ces_trend, "CES", AMBER, {"min": 1, "max": 7, "title": {"display": True,
                                                                                        "text": "CES (1-7)"}})
    if ces:
        charts["ces"] = ces
    if dashboard.funnel.steps:
        steps = dashboard.funnel.steps
        charts["funnel"] = {"type": "bar", "data": {"labels": [s["label"] for s in steps],
                                                     "datasets": [{"label": "People", "backgroundColor": GREEN,
                                                                   "data": [s["people"] for s in steps]}]},
                            "options": {"responsive": True, "animation": False, "indexAxis": "y"}}
    return charts


def _proportion_table(slug: str, title: str, rows: list[Proportion], outcome: str, note: str) -> DataTable:
    data = [{"group": p.label, "n": p.n, "k": p.k, "rate": p.rate, "low": p.ci_low, "high": p.ci_high,
             "small": "*" if p.small_sample and p.n else ""} for p in rows] if any(p.n for p in rows) else []
    if any(p.small_sample for p in rows if p.n):
        note = f"{note} {SMALL_NOTE}".strip()
    return DataTable(slug, title, [Column("group", "Customers"), Column("n", "n", "int", True),
                                   Column("k", outcome, "int", True), Column("rate", "Rate", "pct", True),
                                   Column("low", "95% CI low", "pct", True), Column("high", "95% CI high", "pct", True),
                                   Column("small", "Small sample")], data, note=note)


def _ratio_note(ratio: float | None, what: str) -> str:
    if ratio is None:
        return ""
    return (f"Fast-resolved customers: {ratio:.2f}x the {what} rate of slower ones "
            "(Forrester often quotes 2.4x for retention).")


def link_tables(report: LinkReport) -> dict[str, DataTable]:
    retention = _proportion_table("retention", f"Retention by resolution speed (within {report.hours} h)",
                                  report.retention, "Retained", _ratio_note(report.retention_ratio, "retention"))
    repeat = _proportion_table("repeat", "Repeat purchase after the last resolved issue", report.repeat,
                               "Bought again", _ratio_note(report.repeat_ratio, "repeat-purchase"))
    nps = DataTable("nps-contacts", "NPS by number of contacts (tickets in the 90 days before answering)",
                    [Column("contacts", "Contacts"), Column("n", "n", "int", True),
                     Column("value", "NPS", "float1", True),
                     Column("low", "95% CI low", "float1", True), Column("high", "95% CI high", "float1", True),
                     Column("small", "Small sample")],
                    [{"contacts": r.key, **_score_cells(r)} for r in report.nps_by_contacts if r.n],
                    note=SMALL_NOTE if any(r.small_sample for r in report.nps_by_contacts if r.n) else "")
    churn = _proportion_table("churn-breaches", "Churn by SLA breaches (tickets created in the period)",
                              report.churn_by_breaches, "Churned", "")
    return {"retention": retention, "repeat": repeat, "nps": nps, "churn": churn}


def link_charts(report: LinkReport) -> dict[str, Any]:
    rows = [r for r in report.nps_by_contacts if r.n]
    if not rows:
        return {}
    return {"nps_contacts": {"type": "bar", "data": {"labels": [r.key for r in rows], "datasets": [
        {"label": "NPS", "data": [r.value for r in rows], "backgroundColor": BLUE}]},
        "options": {"responsive": True, "animation": False, "scales": {"y": {"min": -100, "max": 100}}}}}
