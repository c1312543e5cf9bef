"""Customer lifetime value: the admin's settings, each model fit (parameters, log-likelihood, outcome) and the
per-customer figures of the latest successful fit."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ClvSettings(models.Model):
    """One row (pk=1): how far ahead CLV looks, how future money is discounted, how often the model refits."""

    horizon_days = models.PositiveIntegerField(default=90)
    annual_discount_rate = models.FloatField(default=0.10)  # 0.10 = 10 % a year
    refit_every_hours = models.PositiveIntegerField(default=24)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"CLV settings: {self.horizon_days} days, {self.annual_discount_rate:.0%} a year"


class FitStatus(models.TextChoices):
    FITTED = "fitted", "Fitted"
    NOT_ENOUGH_DATA = "not_enough_data", "Not enough data"
    FAILED = "failed", "Did not converge"


class ClvModelFit(models.Model):
    """One fitting run. Parameters are in days (recency, T and the horizon are measured in days)."""

    status = models.CharField(max_length=16, choices=FitStatus.choices)
    message = models.CharField(max_length=500, blank=True)
    trigger = models.CharField(max_length=16, default="manual")  # manual, api, schedule, demo
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    observation_end = models.DateTimeField()
    fitted_at = models.DateTimeField(db_index=True)
    duration_ms = models.PositiveIntegerField(default=0)
    customers = models.PositiveIntegerField(default=0)  # customers with at least one order
    repeat_customers = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    horizon_days = models.PositiveIntegerField()
    annual_discount_rate = models.FloatField()
    bgnbd = models.JSONField(default=dict, blank=True)  # {"r", "alpha", "a", "b"}
    bgnbd_loglik = models.FloatField(null=True, blank=True)
    pareto_nbd = models.JSONField(default=dict, blank=True)  # {"r", "alpha", "s", "beta"}
    pareto_nbd_loglik = models.FloatField(null=True, blank=True)
    gamma_gamma = models.JSONField(default=dict, blank=True)  # {"p", "q", "v"}
    gamma_gamma_loglik = models.FloatField(null=True, blank=True)
    notes = models.JSONField(default=list, blank=True)  # e.g. "Pareto/NBD did not converge" when BG/NBD did

    class Meta:
        ordering = ["-fitted_at", "-id"]

    def __str__(self) -> str:
        return f"CLV fit #{self.pk} ({self.status})"

    @property
    def is_fitted(self) -> bool:
        return self.status == FitStatus.FITTED


class CustomerClv(models.Model):
    """A customer's figures from the latest successful fit (replaced on each fit, removed when a fit fails)."""

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="clv")
    fit = models.ForeignKey(ClvModelFit, on_delete=models.CASCADE, related_name="customer_values")
    orders = models.PositiveIntegerField()
    frequency = models.PositiveIntegerField()  # repeat purchase days
    recency_days = models.FloatField()
    age_days = models.FloatField()  # T: first purchase to the end of observation
    total_spend = models.FloatField()
    average_repeat_spend = models.FloatField(null=True, blank=True)
    expected_purchases = models.FloatField()  # BG/NBD, over the fit's horizon
    probability_alive = models.FloatField()  # BG/NBD
    pareto_expected_purchases = models.FloatField(null=True, blank=True)
    pareto_probability_alive = models.FloatField(null=True, blank=True)
    expected_average_spend = models.FloatField(null=True, blank=True)  # Gamma-Gamma
    clv = models.FloatField(null=True, blank=True)  # discounted, over the horizon

    class Meta:
        indexes = [models.Index(fields=["-clv"], name="clv_customer_value_idx")]

    def __str__(self) -> str:
        return f"CLV {self.clv} for customer #{self.customer_id}"
