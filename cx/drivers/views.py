"""The driver analysis page: effects with intervals, focus areas (table + chart), small-sample warnings."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cx.core.errors import DomainError
from cx.core.tables import Column, DataTable, table_export_response
from cx.core.views import render_domain_error
from cx.drivers import selectors
from cx.drivers.selectors import OUTCOMES, DriverQuery, DriverReport


def _scale(effect) -> str:
    return f"per {effect.factor.unit}" if effect.factor.unit else "yes vs no"


def effects_table(report: DriverReport) -> DataTable:
    churn = report.outcome == "churn"
    columns = [Column("factor", "Factor"), Column("scale", "Effect is"),
               Column("coefficient", "Effect on churn (log-odds)" if churn else f"Effect on {report.label}",
                      "float3", True),
               Column("ci_low", "95% CI low", "float3", True), Column("ci_high", "95% CI high", "float3", True),
               Column("p_value", "p-value", "float3", True)]
    if churn:
        columns.append(Column("odds_ratio", "Odds ratio", "float2", True))
    columns += [Column("exposed", "Rows with it", "int", True), Column("significant", "Significant (p < 0.05)")]
    rows = []
    if report.result:
        for e in sorted(report.result.effects, key=lambda e: e.p_value):
            rows.append({"factor": e.factor.label, "scale": _scale(e),
                         "coefficient": e.coefficient, "ci_low": e.ci_low, "ci_high": e.ci_high,
                         "p_value": e.p_value, "odds_ratio": e.odds_ratio if churn else None,
                         "exposed": e.exposed, "significant": "yes" if e.significant else "no"})
    return DataTable("driver-effects", f"What moves {report.label}", columns, rows,
                     note=f"Effects in {report.effect_unit}, holding the other factors fixed.")


def focus_table(report: DriverReport) -> DataTable:
    rows = []
    if report.result:
        for e in sorted(report.result.effects, key=lambda e: (-e.focus, -e.impact)):
            rows.append({"factor": e.factor.label, "impact": e.impact, "performance": e.performance,
                         "harmful_n": e.harmful_n, "p_value": e.p_value, "focus": "focus area" if e.focus else ""})
    baseline = report.result.baseline_performance if report.result else None
    note = (f"Impact: change in the outcome for a one-standard-deviation change in the factor. Performance: "
            f"{report.performance_label} of the rows on the factor's harmful side (everyone: "
            f"{'no data' if baseline is None else f'{baseline:.1f}'}). Focus areas are significant, high-impact "
            f"factors whose harmful side scores below everyone.")
    return DataTable("driver-focus", "Focus areas", [
        Column("factor", "Factor"), Column("impact", "Impact (1 SD)", "float3", True),
        Column("performance", f"{report.performance_label} on the harmful side", "float1", True),
        Column("harmful_n", "Rows on that side", "int", True), Column("p_value", "p-value", "float3", True),
        Column("focus", "Focus")], rows, note=note)


def _colour(effect, outcome: str) -> str:
    """Red: significantly worse outcome (lower score, more churn); green: significantly better; grey: neither."""
    if not effect.significant:
        return "#9ca3af"
    worse = effect.coefficient > 0 if outcome == "churn" else effect.coefficient < 0
    return "#dc2626" if worse else "#16a34a"


def effects_chart(report: DriverReport) -> dict | None:
    if not report.result or not report.result.effects:
        return None
    effects = sorted(report.result.effects, key=lambda e: e.coefficient)
    return {"type": "bar",
            "data": {"labels": [e.factor.label for e in effects],
                     "datasets": [{"label": "95% interval of the effect",
                                   "data": [[round(e.ci_low, 4), round(e.ci_high, 4)] for e in effects],
                                   "backgroundColor": [_colour(e, report.outcome) for e in effects]}]},
            "options": {"indexAxis": "y", "plugins": {"legend": {"display": False}},
                        "scales": {"x": {"title": {"display": True, "text": report.effect_unit}}}}}


def focus_chart(report: DriverReport) -> dict | None:
    if not report.result or not report.result.effects:
        return None
    datasets = [{"label": e.factor.label, "data": [{"x": round(e.impact, 4), "y": round(e.performance, 2)}],
                 "backgroundColor": "#dc2626" if e.focus else "#9ca3af", "pointRadius": 7 if e.focus else 5}
                for e in report.result.effects if e.performance is not None]
    return {"type": "scatter", "data": {"datasets": datasets},
            "options": {"plugins": {"legend": {"position": "bottom"}},
                        "scales": {"x": {"title": {"display": True, "text": "Impact (1 SD)"}, "beginAtZero": True},
                                   "y": {"title": {"display": True,
                                                   "text": f"{report.performance_label} on the harmful side"}}}}}


@login_required
@require_GET
def drivers_page(request: HttpRequest) -> HttpResponse:
    query = DriverQuery.from_params(request.GET)
    try:
        report = selectors.driver_report(actor=request.user, query=query)
    except DomainError as error:
        return render_domain_error(request, error, app="drivers")
    tables = [effects_table(report), focus_table(report)]
    return table_export_response(request, tables) or render(request, "drivers/page.html", {
        "report": report, "query": query.as_params(), "outcomes": OUTCOMES.items(), "effects": tables[0],
        "focus": tables[1], "effects_chart": effects_chart(report), "focus_chart": focus_chart(report)})
