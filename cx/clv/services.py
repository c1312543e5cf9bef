"""Fit the CLV models on the instance's order events and store the per-customer figures.

``clv_refit`` is the one write path (the Refit button, the API, the periodic job and the demo all call it): it
summarises every customer's orders (``cx.journeys.selectors.orders``) as frequency/recency/T in days, fits
BG/NBD (the model CLV uses), Pareto/NBD (shown beside it) and Gamma-Gamma for spend, and replaces the
per-customer rows. When the data cannot support a fit the run is recorded with the reason and the old
per-customer figures are removed, so nobody reads numbers that no longer describe the customers.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.clv.models import ClvModelFit, ClvSettings, CustomerClv, FitStatus
from cx.core.audit import audit_record
from cx.core.errors import ValidationFailed
from cx.journeys.selectors import orders

logger = logging.getLogger("cx.clv")

KEEP_FITS = 50
DAYS_PER_YEAR = 365.25
STEP_DAYS = 30  # CLV adds up the expected purchases month by month, each month discounted
LIMITS = {"horizon_days": (1, 3650), "annual_discount_percent": (0.0, 100.0), "refit_every_hours": (1, 24 * 31)}


def clv_settings_get() -> ClvSettings:
    row, _ = ClvSettings.objects.get_or_create(pk=1)
    return row


def _parse_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Check the admin's values (missing ones stay as they are); the discount rate is given in percent."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for name, (low, high) in LIMITS.items():
        raw = values.get(name)
        if raw is None or raw == "":
            continue
        whole = name != "annual_discount_percent"
        try:
            if isinstance(raw, bool):
                raise ValueError
            number = int(str(raw).strip()) if whole else float(str(raw).strip())
        except ValueError:
            errors[name] = "a whole number" if whole else "a number of percent, e.g. 10"
            continue
        if not math.isfinite(number) or not low <= number <= high:
            errors[name] = f"from {low:g} to {high:g}"
            continue
        if whole:
            clean[name] = number
        else:
            clean["annual_discount_rate"] = number / 100
    if errors:
        raise ValidationFailed("Some CLV settings are invalid.", fields=errors)
    return clean


@transaction.atomic
def clv_settings_update(*, actor: User, values: dict[str, Any], token_scope: AccessLevel | None = None) -> ClvSettings:
    """Change the horizon, discount rate or refit interval (admins) and refit, so the figures match them."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    clean = _parse_settings(values)
    row = clv_settings_get()
    for name, value in clean.items():
        setattr(row, name, value)
    row.save()
    audit_record(actor=actor, action="clv.settings_updated", target_type="clv_settings", target_id=row.pk,
                 data=clean)
    if clean.keys() & {"horizon_days", "annual_discount_rate"}:
        _refit(actor=actor, trigger="settings")
    return row


@transaction.atomic
def clv_refit(*, actor: User | None, trigger: str = "manual", now: datetime | None = None,
              token_scope: AccessLevel | None = None) -> ClvModelFit:
    """Fit the models on all orders up to ``now`` and replace the per-customer figures. ``actor`` None is the
    scheduler. Never raises for unusable data: the returned run says why it did not fit."""
    if actor is not None:
        require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    return _refit(actor=actor, trigger=trigger, now=now)


def _refit(*, actor: User | None, trigger: str, now: datetime | None = None) -> ClvModelFit:
    from cx.clv import fitting  # numpy/scipy load on the first fit, not with every web process

    started = time.monotonic()
    now = now or timezone.now()
    config = clv_settings_get()
    order_rows = orders(until=now)
    summary = fitting.summary_from_transactions(
        ((o.customer_id, timezone.localdate(o.occurred_at), o.amount) for o in order_rows),
        observation_end=timezone.localdate(now))
    fit = ClvModelFit(observation_end=now, fitted_at=timezone.now(), trigger=trigger,
                      requested_by=actor if actor is not None and actor.is_authenticated else None,
                      customers=len(summary.keys), repeat_customers=summary.repeat_customers,
                      orders=len(order_rows), horizon_days=config.horizon_days,
                      annual_discount_rate=config.annual_discount_rate)
    notes: list[str] = []
    try:
        bgnbd = fitting.fit_bgnbd(summary.frequency, summary.recency, summary.T)
    except fitting.NotEnoughData as exc:
        fit.status, fit.message = FitStatus.NOT_ENOUGH_DATA, f"Not enough order data to fit the CLV model: {exc}."
    except (fitting.FitFailed, ValueError, FloatingPointError) as exc:
        fit.status, fit.message = FitStatus.FAILED, f"The CLV model could not be fitted: {exc}."
    else:
        fit.status = FitStatus.FITTED
        fit.bgnbd, fit.bgnbd_loglik = bgnbd.params, bgnbd.loglik
        pareto = gamma = None
        try:
            pareto = fitting.fit_pareto_nbd(summary.frequency, summary.recency, summary.T)
            fit.pareto_nbd, fit.pareto_nbd_loglik = pareto.params, pareto.loglik
        except (fitting.NotEnoughData, fitting.FitFailed, ValueError, FloatingPointError) as exc:
            notes.append(f"Pareto/NBD not fitted: {exc}.")
        try:
            gamma = fitting.fit_gamma_gamma(summary.frequency, summary.monetary)
            fit.gamma_gamma, fit.gamma_gamma_loglik = gamma.params, gamma.loglik
        except (fitting.NotEnoughData, fitting.FitFailed, ValueError, FloatingPointError) as exc:
            notes.append(f"Spend model (Gamma-Gamma) not fitted, so CLV in money is not available: {exc}.")
        fit.message = (f"Fitted on {fit.customers} customers ({fit.repeat_customers} with repeat purchases, "
                       f"{fit.orders} orders).")
    fit.notes = notes
    fit.duration_ms = int((time.monotonic() - started) * 1000)
    fit.save()
    CustomerClv.objects.all().delete()
    if fit.is_fitted:
        _store_customer_values(fit=fit, summary=summary, config=config)
    for old in ClvModelFit.objects.order_by("-fitted_at", "-id").values_list("id", flat=True)[KEEP_FITS:]:
        ClvModelFit.objects.filter(pk=old).delete()
    audit_record(actor=actor, action="clv.refit", target_type="clv_fit", target_id=fit.pk,
                 data={"status": fit.status, "trigger": trigger, "customers": fit.customers,
                       "repeat_customers": fit.repeat_customers})
    logger.info("CLV refit %s: %s", fit.status, fit.message)
    return fit


def _store_customer_values(*, fit: ClvModelFit, summary: Any, config: ClvSettings) -> None:
    from cx.clv import fitting

    x, t_x, T = summary.frequency, summary.recency, summary.T
    horizon = float(config.horizon_days)
    expected = fitting.bgnbd_expected_purchases(fit.bgnbd, horizon, x, t_x, T)
    alive = fitting.bgnbd_p_alive(fit.bgnbd, x, t_x, T)
    pareto_expected = pareto_alive = None
    if fit.pareto_nbd:
        pareto_expected = fitting.pareto_expected_purchases(fit.pareto_nbd, horizon, x, t_x, T)
        pareto_alive = fitting.pareto_p_alive(fit.pareto_nbd, x, t_x, T)
    spend = value = None
    if fit.gamma_gamma:
        spend = fitting.gamma_gamma_expected_spend(fit.gamma_gamma, x, summary.monetary)
        value = fitting.lifetime_value(lambda t: fitting.bgnbd_expected_purchases(fit.bgnbd, t, x, t_x, T), spend,
                                       horizon=horizon, annual_discount_rate=config.annual_discount_rate,
                                       units_per_year=DAYS_PER_YEAR, step=STEP_DAYS)

    def number(values: Any, i: int) -> float | None:
        if values is None or not math.isfinite(float(values[i])):
            return None
        return float(values[i])

    rows = []
    for i, customer_id in enumerate(summary.keys):
        rows.append(CustomerClv(
            customer_id=customer_id, fit=fit, orders=int(summary.orders[i]), frequency=int(x[i]),
            recency_days=float(t_x[i]), age_days=float(T[i]), total_spend=float(summary.total_spend[i]),
            average_repeat_spend=float(summary.monetary[i]) if x[i] > 0 else None,
            expected_purchases=number(expected, i) or 0.0, probability_alive=number(alive, i) or 0.0,
            pareto_expected_purchases=number(pareto_expected, i), pareto_probability_alive=number(pareto_alive, i),
            expected_average_spend=number(spend, i), clv=number(value, i)))
    CustomerClv.objects.bulk_create(rows, batch_size=1000)


def clv_refit_job(now: datetime) -> None:
    """Periodic check (hourly): queue a refit when the admin's interval has passed since the last run."""
    from cx.clv.tasks import clv_refit_task

    config = clv_settings_get()
    last = ClvModelFit.objects.order_by("-fitted_at").values_list("fitted_at", flat=True).first()
    if last is not None and now - last < timedelta(hours=config.refit_every_hours):
        return
    transaction.on_commit(lambda: clv_refit_task.enqueue())
