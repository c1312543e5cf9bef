"""Driver analysis API: the same report as the page, as JSON."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from cx.drivers import selectors
from cx.drivers.selectors import DriverQuery

router = Router(tags=["drivers"])


class EffectOut(Schema):
    factor: str
    label: str
    unit: str
    coefficient: float
    ci_low: float
    ci_high: float
    p_value: float
    odds_ratio: float | None
    exposed: int
    impact: float
    performance: float | None
    focus: bool


class DriverReportOut(Schema):
    outcome: str
    period_start: str
    period_end: str
    rows: int
    window: str
    message: str
    method: str | None
    r_squared: float | None
    baseline_performance: float | None
    performance_label: str
    effect_unit: str
    effects: list[EffectOut]
    focus_areas: list[str]
    warnings: list[str]
    dropped: list[str]


@router.get("/drivers", response=DriverReportOut,
            summary="What moves NPS, CSAT or churn (?outcome=nps|csat|churn&from=YYYY-MM-DD&to=YYYY-MM-DD)")
def driver_report(request: HttpRequest, outcome: str = "nps", date_from: str = "", date_to: str = ""):
    query = DriverQuery.from_params({"outcome": outcome, "from": date_from or request.GET.get("from", ""),
                                     "to": date_to or request.GET.get("to", "")})
    report = selectors.driver_report(actor=request.auth, query=query, token_scope=getattr(request, "auth_scope",
                                                                                           None))
    result = report.result
    churn = report.outcome == "churn"
    return {"outcome": report.outcome, "period_start": report.period_start.isoformat(),
            "period_end": report.period_end.isoformat(), "rows": report.rows, "window": report.window,
            "message": report.message, "method": result.method if result else None,
            "r_squared": result.r_squared if result else None,
            "baseline_performance": result.baseline_performance if result else None,
            "performance_label": report.performance_label, "effect_unit": report.effect_unit,
            "effects": [{"factor": e.factor.key, "label": e.factor.label, "unit": e.factor.unit,
                         "coefficient": e.coefficient, "ci_low": e.ci_low, "ci_high": e.ci_high,
                         "p_value": e.p_value, "odds_ratio": e.odds_ratio if churn else None, "exposed": e.exposed,
                         "impact": e.impact, "performance": e.performance, "focus": e.focus}
                        for e in (result.effects if result else [])],
            "focus_areas": [e.factor.key for e in (result.focus_areas if result else [])],
            "warnings": result.warnings if result else [], "dropped": result.dropped if result else []}
