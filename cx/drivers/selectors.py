"""Driver analysis reports for the page and the API (computed on request from the instance's own data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.errors import ValidationFailed
from cx.drivers import analysis, factors
from cx.surveys.scoring import csat, nps

OUTCOMES = {"nps": "NPS", "csat": "CSAT", "churn": "Churn"}
DEFAULT_DAYS = 180
MAX_DAYS = 3 * 366


@dataclass
class DriverQuery:
    outcome: str = "nps"
    date_from: date | None = None
    date_to: date | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: Any) -> DriverQuery:
        query = cls()
        outcome = (params.get("outcome") or "nps").strip()
        if outcome not in OUTCOMES:
            query.errors["outcome"] = f"one of {', '.join(OUTCOMES)}"
        else:
            query.outcome = outcome
        for name, attribute in (("from", "date_from"), ("to", "date_to")):
            raw = (params.get(name) or "").strip()
            if raw:
                try:
                    setattr(query, attribute, date.fromisoformat(raw))
                except ValueError:
                    query.errors[name] = "a date like 2026-11-23"
        if query.date_from and query.date_to:
            if query.date_from > query.date_to:
                query.errors["to"] = "on or after the start date"
            elif (query.date_to - query.date_from).days > MAX_DAYS:
                query.errors["from"] = f"at most {MAX_DAYS} days before the end date"
        return query

    def period(self) -> tuple[datetime, datetime]:
        today = timezone.localdate()
        end_day = self.date_to or today
        start_day = self.date_from or end_day - timedelta(days=DEFAULT_DAYS)
        start = timezone.make_aware(datetime.combine(start_day, time.min))
        end = timezone.make_aware(datetime.combine(end_day + timedelta(days=1), time.min))
        return start, end

    def as_params(self) -> dict[str, str]:
        values = {"outcome": self.outcome, "from": self.date_from, "to": self.date_to}
        return {k: str(v) for k, v in values.items() if v}


@dataclass
class DriverReport:
    outcome: str
    label: str
    period_start: datetime
    period_end: datetime
    rows: int
    window: str
    result: analysis.DriverResult | None
    message: str = ""  # why there is no result ("no data", too few rows)
    notes: list[str] = field(default_factory=list)

    @property
    def effect_unit(self) -> str:
        return {"nps": "points on the 0-10 scale", "csat": "points on the 1-5 scale",
                "churn": "log-odds of churning"}[self.outcome]

    @property
    def performance_label(self) -> str:
        return {"nps": "NPS", "csat": "CSAT % satisfied", "churn": "Retention %"}[self.outcome]


def _nps_score(values: list) -> float | None:
    return nps(values).nps if values else None


def _csat_score(values: list) -> float | None:
    return csat(values).csat if values else None


def _retention(values: list) -> float | None:
    return 100 * (1 - sum(1 for v in values if v) / len(values)) if values else None


def driver_report(*, actor: User, query: DriverQuery, token_scope: AccessLevel | None = None) -> DriverReport:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    if query.errors:
        raise ValidationFailed("Some filters are invalid.", fields=query.errors)
    start, end = query.period()
    if query.outcome == "churn":
        data = factors.churn_dataset(as_of=min(end, timezone.now()))
    else:
        data = factors.survey_dataset(score=query.outcome, since=start, until=end)
    report = DriverReport(outcome=query.outcome, label=OUTCOMES[query.outcome], period_start=start,
                          period_end=end, rows=data.n, window=data.window, result=None, notes=list(data.notes))
    if data.n == 0:
        report.message = "no data"
        return report
    try:
        if query.outcome == "churn":
            outcomes = [1.0 if churned else 0.0 for churned in data.y]
            result = analysis.logistic(data.X, outcomes, data.factors, outcome="churn")
            analysis.add_focus_areas(result, data.X, data.factors, data.y, _retention, higher_is_better=False)
        else:
            result = analysis.ols(data.X, [float(v) for v in data.y], data.factors, outcome=query.outcome)
            score = _nps_score if query.outcome == "nps" else _csat_score
            analysis.add_focus_areas(result, data.X, data.factors, data.y, score, higher_is_better=True)
    except analysis.NoData as exc:
        report.message = f"Not enough data for a driver analysis: {exc}."
        return report
    report.result = result
    return report
