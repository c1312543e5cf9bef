"""Churn pages: the Insights churn page (risk segments, customers at risk, what drives churn, model runs and the
admins' "Retrain now"), the customer page card and the experience-dashboard panel (both loaded by htmx)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cx.accounts.models import AccessLevel
from cx.churn import selectors, services
from cx.churn.selectors import HIGH_RISK, MEDIUM_RISK
from cx.core.errors import DomainError
from cx.core.tables import Column, DataTable, table_export_response
from cx.core.views import render_domain_error

RANGES = {"high": "≥ 0.70", "medium": "0.40-0.69", "low": "< 0.40"}
LEVEL_MINIMUM = {"high": HIGH_RISK, "medium": MEDIUM_RISK, "all": 0.0}


def _tables(request: HttpRequest, level: str) -> tuple[list[DataTable], list, list]:
    segments = selectors.risk_segments(actor=request.user)
    at_risk = selectors.at_risk_list(actor=request.user, minimum=LEVEL_MINIMUM[level], limit=500)
    runs = selectors.model_runs(actor=request.user, limit=20)
    latest = selectors.latest_ready_run()
    total = sum(s.customers for s in segments)
    segment_table = DataTable("churn-segments", "Risk segments", [
        Column("label", "Segment"), Column("range", "Probability"), Column("customers", "Customers", "int", True),
        Column("share", "Share", "ratio_pct", True)],
        [{"label": s.label, "range": RANGES[s.level], "customers": s.customers,
          "share": s.customers / total if total else None} for s in segments] if total else [],
        note="Customers who are active (not churned) and scored by the newest churn model.")
    at_risk_table = DataTable("churn-at-risk", "Customers at risk", [
        Column("customer", "Customer"), Column("probability", "Churn probability", "ratio_pct", True),
        Column("level", "Level"), Column("reasons", "Top reasons"), Column("scored_at", "Scored", "datetime")],
        at_risk, links={"customer": lambda row: reverse("customers:detail", args=[row["customer_id"]])})
    runs_table = DataTable("churn-model-runs", "Model runs", [
        Column("version", "Version"), Column("status", "Status"), Column("trigger", "Trigger"),
        Column("created_at", "Started", "datetime"), Column("customers", "Customers (n)", "int", True),
        Column("churned", "Churned", "int", True), Column("cv_auc", "CV ROC-AUC", "float3", True),
        Column("scored", "Scored", "int", True), Column("error", "Message")],
        [{"version": r.version, "status": r.get_status_display(), "trigger": r.trigger, "created_at": r.created_at,
          "customers": r.customers if r.status in ("ready", "failed") else None,
          "churned": r.churned if r.status in ("ready", "failed") else None, "cv_auc": r.cv_auc,
          "scored": r.scored if r.status == "ready" else None, "error": r.error or None} for r in runs])
    drivers_table = DataTable("churn-drivers", "What drives churn", [
        Column("label", "Factor"), Column("importance", "Average effect on probability", "ratio_pct", True),
        Column("direction", "Direction")],
        latest.drivers if latest else [],
        note=(f"From model {latest.version}: how much each factor moves customers' churn probability on average "
              f"(features as of {latest.snapshot_at:%Y-%m-%d}, churn within {latest.horizon_days} days)."
              if latest else ""))
    return [segment_table, at_risk_table, drivers_table, runs_table], segments, runs


@login_required
@require_GET
def churn_page(request: HttpRequest) -> HttpResponse:
    level = request.GET.get("level", "medium")
    if level not in LEVEL_MINIMUM:
        level = "medium"
    try:
        tables, segments, runs = _tables(request, level)
    except DomainError as error:
        return render_domain_error(request, error, app="churn")
    export = table_export_response(request, tables)
    if export is not None:
        return export
    segment_table, at_risk_table, drivers_table, runs_table = tables
    return render(request, "churn/page.html", {
        "segments": segments, "segment_table": segment_table, "at_risk_table": at_risk_table,
        "drivers_table": drivers_table, "runs_table": runs_table, "level": level,
        "latest": selectors.latest_ready_run(), "busy": any(r.status in ("queued", "training") for r in runs),
        "is_admin": request.user.access_level >= AccessLevel.ADMIN})


@login_required
@require_POST
def train_now(request: HttpRequest) -> HttpResponse:
    try:
        run = services.churn_training_request(actor=request.user, trigger="admin")
    except DomainError as error:
        if error.status in (403, 404):
            return render_domain_error(request, error, app="churn")
        messages.error(request, error.message)
    else:
        messages.success(request, f"Retraining queued ({run.version}): customers are rescored when it finishes.")
    return redirect("churn:page")


@login_required
@require_GET
def customer_panel(request: HttpRequest, customer_id: int) -> HttpResponse:
    try:
        risk = selectors.churn_risk_get_for(actor=request.user, customer_id=customer_id)
    except DomainError as error:
        return render_domain_error(request, error, app="churn")
    return render(request, "churn/partials/customer_panel.html", {
        "risk": risk, "customer_id": customer_id, "has_model": selectors.latest_ready_run() is not None,
        "raising": [r for r in risk.reasons if r.effect > 0] if risk else [],
        "lowering": [r for r in risk.reasons if r.effect < 0] if risk else []})


@login_required
@require_GET
def experience_panel(request: HttpRequest) -> HttpResponse:
    try:
        segments = selectors.risk_segments(actor=request.user)
    except DomainError as error:
        return render_domain_error(request, error, app="churn")
    total = sum(s.customers for s in segments)
    return render(request, "churn/partials/experience_panel.html", {
        "segments": segments, "total": total, "latest": selectors.latest_ready_run()})
