"""Insights: the instance-wide dashboard settings and the weekly digest's subscriptions and sends."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class InsightsSettings(models.Model):
    """One row (pk=1): which journey funnel the experience dashboard shows as the "main" funnel.

    ``main_funnel_query`` is the query string of a funnel built on Journeys → Funnels (its steps, window,
    exclusion and breakdown); the dashboard replaces its date range with the dashboard's period. Empty: the
    lifecycle stage funnel (awareness → ... → advocacy), which needs no configuration.
    """

    main_funnel_name = models.CharField(max_length=120, blank=True)
    main_funnel_query = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = "insights settings"
        verbose_name_plural = "insights settings"

    def __str__(self) -> str:
        return "Insights settings"


class DigestSubscription(models.Model):
    """A manager who receives the weekly digest email."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Digest for user {self.user_id}"


class DigestRun(models.Model):
    """One weekly digest (the week starting ``week_start``, a Monday); unique, so a week is queued once."""

    week_start = models.DateField(unique=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-week_start"]

    def __str__(self) -> str:
        return f"Digest of the week of {self.week_start}"


class DigestDelivery(models.Model):
    """One digest email to one subscriber; unique per week and user, so nobody gets a week twice."""

    run = models.ForeignKey(DigestRun, on_delete=models.CASCADE, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "user"], name="insights_digest_once_per_week")]

    def __str__(self) -> str:
        return f"Digest {self.run_id} to user {self.user_id}"
