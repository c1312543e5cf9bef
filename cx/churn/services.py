"""Write churn-risk predictions (the model's scoring run, or tests and the demo) and train the in-product model."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import joblib
import numpy as np
from django.db import transaction
from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.churn.features import FEATURE_NAMES, SCHEMA, customer_features, feature_label
from cx.churn.models import ChurnModelRun, ChurnScore, RunStatus
from cx.churn.selectors import ChurnReason, churn_outcomes
from cx.core.audit import audit_record
from cx.core.errors import Conflict, ValidationFailed

if TYPE_CHECKING:  # the pipeline imports scikit-learn: only training and scoring load it, not every web process
    from cx.churn.pipeline import Fitted

logger = logging.getLogger("cx.churn")

HORIZON_DAYS = 90
RETRAIN_EVERY = timedelta(days=7)
TOP_REASONS = 3  # raising the risk, strongest first; up to two lowering ones follow
MIN_EFFECT = 0.005  # smaller contributions are noise, not reasons
MAX_DRIVER_ROWS = 2000  # rows used to estimate the global drivers (contributions cost one prediction per feature)


@transaction.atomic
def churn_score_store(*, customer_id: int, probability: float, reasons: Iterable[ChurnReason] = (),
                      model_version: str, scored_at: datetime | None = None) -> ChurnScore:
    """Replace the customer's churn score. ``probability`` must be within 0-1."""
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"probability must be within 0 and 1, got {probability}")
    row, _ = ChurnScore.objects.update_or_create(customer_id=customer_id, defaults={
        "probability": float(probability), "model_version": model_version,
        "scored_at": scored_at or timezone.now(),
        "reasons": [{"feature": r.feature, "label": r.label, "effect": float(r.effect)} for r in reasons],
    })
    return row


# ----- training -----

def training_labels(*, as_of: datetime, horizon_days: int = HORIZON_DAYS) -> dict[int, bool]:
    """Customer → churned by ``as_of``, for the customers active at ``as_of - horizon`` (the training rows)."""
    snapshot = as_of - timedelta(days=horizon_days)
    active = [cid for cid, churned in churn_outcomes(as_of=snapshot).items() if not churned]
    return churn_outcomes(as_of=as_of, customer_ids=active)


def training_set(*, as_of: datetime, horizon_days: int = HORIZON_DAYS) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Customers active at ``as_of - horizon`` (seen before it and not churned then), their features as of that
    moment, and whether they had churned by ``as_of`` (the label): strictly point in time."""
    snapshot = as_of - timedelta(days=horizon_days)
    outcome = training_labels(as_of=as_of, horizon_days=horizon_days)
    rows = customer_features(as_of=snapshot, customer_ids=sorted(outcome))
    X = np.array([r.row() for r in rows], dtype=object).reshape(len(rows), len(SCHEMA.columns))
    y = np.array([int(outcome.get(r.customer_id, True)) for r in rows], dtype=int)
    return [r.customer_id for r in rows], X, y


def _dump(fitted: Fitted) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(fitted, buffer, compress=3)
    return buffer.getvalue()


def load_model(run: ChurnModelRun) -> Fitted:
    return joblib.load(io.BytesIO(bytes(run.artifact)))


def global_drivers(fitted: Fitted, X: np.ndarray) -> list[dict]:
    """What drives churn overall: the mean absolute contribution of each feature over the training rows, and
    whether high values (or, for the stage, which stage) raise or lower the risk."""
    if len(X) > MAX_DRIVER_ROWS:
        X = X[np.random.default_rng(0).choice(len(X), MAX_DRIVER_ROWS, replace=False)]
    effects = fitted.contributions(X)
    drivers = []
    for j, feature in enumerate(SCHEMA.columns):
        importance = float(np.abs(effects[:, j]).mean())
        if j < len(SCHEMA.numeric):
            values = np.array(X[:, j], dtype=float)
            known = ~np.isnan(values)
            direction = ""
            if known.sum() > 2 and np.std(values[known]) > 0 and np.std(effects[known, j]) > 0:
                corr = float(np.corrcoef(values[known], effects[known, j])[0, 1])
                direction = "higher raises risk" if corr > 0.1 else "higher lowers risk" if corr < -0.1 else "mixed"
        else:
            by_value: dict[str, list[float]] = {}
            for value, effect in zip(X[:, j], effects[:, j], strict=True):
                by_value.setdefault(str(value), []).append(float(effect))
            worst = max(by_value, key=lambda v: float(np.mean(by_value[v])))
            direction = f"riskiest: {feature_label(feature, worst)}"
        drivers.append({"feature": feature, "label": FEATURE_NAMES[feature], "importance": importance,
                        "direction": direction})
    drivers.sort(key=lambda d: -d["importance"])
    return drivers


def churn_training_request(*, actor: User | None, trigger: str = "admin",
                           token_scope: AccessLevel | None = None) -> ChurnModelRun:
    """Queue a training run (the task worker trains it and rescores every active customer); refuses at once
    (ValidationFailed, code ``not_enough_data``) when the data cannot train a model."""
    if actor is not None:
        require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    if ChurnModelRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.TRAINING]).exists():
        raise Conflict("A churn model training run is already queued or running.")
    from cx.churn.pipeline import TooLittleData, check_trainable

    labels = training_labels(as_of=timezone.now())  # refuse at once when the data cannot train a model
    try:
        check_trainable([int(churned) for churned in labels.values()])
    except TooLittleData as exc:
        raise ValidationFailed(str(exc), fields={"data": str(exc)}, code="not_enough_data") from None
    run = ChurnModelRun.objects.create(status=RunStatus.QUEUED, trigger=trigger)
    audit_record(actor=actor, action="churn.training_requested", target_type="churn_model_run", target_id=run.pk,
                 data={"trigger": trigger})
    from cx.churn.tasks import train_churn_model

    transaction.on_commit(lambda: train_churn_model.enqueue(run_id=run.pk))
    return run


def churn_model_train(*, run_id: int | None = None, trigger: str = "command", as_of: datetime | None = None,
                      horizon_days: int = HORIZON_DAYS, rescore: bool = True) -> ChurnModelRun:
    """Train now (a queued run, or a new one), keep the run's figures and the fitted model, then rescore.

    Too little data or only one class: the run is stored as failed with the reason and ValidationFailed is
    raised with the same message (code ``not_enough_data``).
    """
    from cx.churn.pipeline import TooLittleData, fit

    as_of = as_of or timezone.now()
    if run_id is not None:
        run = ChurnModelRun.objects.get(pk=run_id)
        if run.status != RunStatus.QUEUED:
            return run
    else:
        run = ChurnModelRun.objects.create(trigger=trigger)
    run.status, run.as_of, run.horizon_days = RunStatus.TRAINING, as_of, horizon_days
    run.snapshot_at = as_of - timedelta(days=horizon_days)
    run.save(update_fields=["status", "as_of", "horizon_days", "snapshot_at"])
    started = time.perf_counter()
    _, X, y = training_set(as_of=as_of, horizon_days=horizon_days)
    run.customers, run.churned = len(y), int(y.sum())
    try:
        fitted = fit(X, y, SCHEMA)
    except TooLittleData as exc:
        run.status, run.error, run.finished_at = RunStatus.FAILED, str(exc), timezone.now()
        run.training_seconds = time.perf_counter() - started
        run.save()
        raise ValidationFailed(str(exc), fields={"data": str(exc)}, code="not_enough_data") from None
    run.cv_auc = fitted.cv_auc
    run.drivers = global_drivers(fitted, X)
    run.artifact = _dump(fitted)
    run.status, run.finished_at = RunStatus.READY, timezone.now()
    run.training_seconds = time.perf_counter() - started
    run.save()
    logger.info("churn model %s trained on %d customers (%d churned), CV AUC %.3f", run.version, run.customers,
                run.churned, run.cv_auc or 0)
    if rescore:
        churn_scores_refresh(run=run, now=as_of)
    return run


def active_run() -> ChurnModelRun | None:
    return ChurnModelRun.objects.filter(status=RunStatus.READY).order_by("-finished_at", "-id").first()


def reasons_for(effects: np.ndarray, values: list) -> list[ChurnReason]:
    """The features raising this customer's risk most (strongest first), then up to two that lower it."""
    ranked = sorted(range(len(effects)), key=lambda j: -effects[j])
    up = [j for j in ranked if effects[j] >= MIN_EFFECT][:TOP_REASONS]
    down = [j for j in reversed(ranked) if effects[j] <= -MIN_EFFECT][:2]
    return [ChurnReason(feature=SCHEMA.columns[j], label=feature_label(SCHEMA.columns[j], values[j]),
                        effect=round(float(effects[j]), 4)) for j in up + down]


def churn_scores_refresh(*, run: ChurnModelRun | None = None, now: datetime | None = None) -> int:
    """Score every customer who is active now (seen and not churned) with the given or newest ready model and
    store the scores with their reasons; scores of customers who have churned since are removed."""
    run = run or active_run()
    if run is None:
        return 0
    now = now or timezone.now()
    fitted = load_model(run)
    outcomes = churn_outcomes(as_of=now)
    active = sorted(cid for cid, churned in outcomes.items() if not churned)
    scored = 0
    for start in range(0, len(active), 500):
        rows = customer_features(as_of=now, customer_ids=active[start:start + 500])
        X = np.array([r.row() for r in rows], dtype=object).reshape(len(rows), len(SCHEMA.columns))
        probabilities = fitted.predict(X)
        effects = fitted.contributions(X)
        with transaction.atomic():
            for i, row in enumerate(rows):
                churn_score_store(customer_id=row.customer_id, probability=float(np.clip(probabilities[i], 0, 1)),
                                  reasons=reasons_for(effects[i], row.row()), model_version=run.version,
                                  scored_at=now)
                scored += 1
    ChurnScore.objects.filter(customer_id__in=[cid for cid, churned in outcomes.items() if churned]).delete()
    ChurnModelRun.objects.filter(pk=run.pk).update(scored=scored)
    return scored


def churn_periodic_job(now: datetime) -> str:
    """Daily: retrain when the newest model is a week old (or there is none), otherwise rescore with it."""
    run = active_run()
    if run is None or now - run.finished_at >= RETRAIN_EVERY:
        try:
            churn_training_request(actor=None, trigger="schedule")
        except Conflict:
            return "already training"
        except ValidationFailed as exc:
            return f"skipped: {exc.message}"
        return "queued"
    from cx.churn.tasks import rescore_churn

    transaction.on_commit(lambda: rescore_churn.enqueue())
    return "rescoring"


def demo_seed(*, now: datetime | None = None) -> str:
    """Train the churn model on the demo company (called once by ``cxdesk demo``) and score its customers.

    Returns what happened, including the reason when the demo data cannot train a model (too few customers).
    Idempotent like the demo itself: once a model is ready, loading the demo again leaves it (and the daily job)
    alone."""
    ready = active_run()
    if ready is not None:
        return f"Churn model {ready.version} already trained."
    try:
        run = churn_model_train(trigger="demo", as_of=now)
    except ValidationFailed as exc:
        message = f"Churn model not trained: {exc.message}"
    else:
        auc = f"{run.cv_auc:.3f}" if run.cv_auc is not None else "n/a"
        message = f"Churn model {run.version}: {run.customers} customers, CV ROC-AUC {auc}, {run.scored} scored."
    logger.info("demo: %s", message)
    return message
