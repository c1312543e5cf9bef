"""Churn-risk API: a customer's risk and reasons, risk segments, customers at risk, model runs and retraining."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from cx.accounts.models import AccessLevel
from cx.churn import selectors, services
from cx.churn.models import ChurnModelRun

router = Router(tags=["churn"])


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


class ReasonOut(Schema):
    feature: str
    label: str
    effect: float  # change in probability this feature accounts for (+ raises, - lowers the risk)


class ChurnRiskOut(Schema):
    customer_id: int
    scored: bool
    probability: float | None = None
    level: str | None = None  # high (>= 0.7), medium (>= 0.4), low
    reasons: list[ReasonOut] = []
    model_version: str | None = None
    scored_at: datetime | None = None


class SegmentOut(Schema):
    level: str
    label: str
    minimum: float
    customers: int


class AtRiskOut(Schema):
    customer_id: int
    customer: str
    probability: float
    level: str
    top_reason: str | None
    scored_at: datetime
    model_version: str


class AtRiskQuery(Schema):
    minimum: float = Field(0.7, ge=0, le=1, description="lowest probability to include (0-1)")
    limit: int = Field(100, ge=1, le=500)


class DriverOut(Schema):
    feature: str
    label: str
    importance: float
    direction: str


class ModelRunOut(Schema):
    id: int
    version: str
    status: str
    trigger: str
    as_of: datetime | None
    snapshot_at: datetime | None
    horizon_days: int
    customers: int
    churned: int
    cv_auc: float | None
    scored: int
    drivers: list[DriverOut]
    error: str
    training_seconds: float | None
    created_at: datetime
    finished_at: datetime | None


def _run_out(run: ChurnModelRun) -> dict:
    return {"id": run.pk, "version": run.version, "status": run.status, "trigger": run.trigger, "as_of": run.as_of,
            "snapshot_at": run.snapshot_at, "horizon_days": run.horizon_days, "customers": run.customers,
            "churned": run.churned, "cv_auc": run.cv_auc, "scored": run.scored, "drivers": run.drivers,
            "error": run.error, "training_seconds": run.training_seconds, "created_at": run.created_at,
            "finished_at": run.finished_at}


@router.get("/customers/{int:customer_id}/churn-risk", response=ChurnRiskOut,
            summary="A customer's churn probability, risk level and top reasons")
def customer_churn_risk(request: HttpRequest, customer_id: int):
    risk = selectors.churn_risk_get_for(actor=request.auth, customer_id=customer_id, token_scope=_scope(request))
    if risk is None:
        return {"customer_id": customer_id, "scored": False}
    return {"customer_id": customer_id, "scored": True, "probability": risk.probability, "level": risk.level,
            "reasons": [{"feature": r.feature, "label": r.label, "effect": r.effect} for r in risk.reasons],
            "model_version": risk.model_version, "scored_at": risk.scored_at}


@router.get("/churn/segments", response=list[SegmentOut], summary="Scored customers per risk level")
def segments(request: HttpRequest):
    return [s.__dict__ for s in selectors.risk_segments(actor=request.auth, token_scope=_scope(request))]


@router.get("/churn/at-risk", response=list[AtRiskOut], summary="Customers at or above a churn probability")
def at_risk(request: HttpRequest, query: Query[AtRiskQuery]):
    return selectors.at_risk_list(actor=request.auth, minimum=query.minimum, limit=query.limit,
                                  token_scope=_scope(request))


@router.get("/churn/model-runs", response=list[ModelRunOut], summary="Churn model training runs, newest first")
def model_run_list(request: HttpRequest):
    return [_run_out(run) for run in selectors.model_runs(actor=request.auth, token_scope=_scope(request))]


@router.post("/churn/model-runs", response={202: ModelRunOut},
             summary="Retrain the churn model now and rescore customers (admins); poll /churn/model-runs")
def model_run_create(request: HttpRequest):
    run = services.churn_training_request(actor=request.auth, trigger="api", token_scope=_scope(request))
    run.refresh_from_db()
    return _run_out(run)
