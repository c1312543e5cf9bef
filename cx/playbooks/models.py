"""Proactive playbooks: a trigger and conditions over a customer's events, scores, tickets and survey answers,
actions that reach out, per-customer throttling, a deterministic holdout group, and the audit of every run."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TriggerKind(models.TextChoices):
    EVENT = "event", "A tracked event arrives"
    TICKET = "ticket", "A ticket event happens"
    SURVEY = "survey", "A survey is answered"
    SWEEP = "sweep", "Periodic check (scores, SLA, ticket state)"


class Match(models.TextChoices):
    ALL = "all", "All conditions"
    ANY = "any", "Any condition"


class GoalKind(models.TextChoices):
    EVENT = "event", "The customer does a tracked event (e.g. an order)"
    NOT_CHURNED = "not_churned", "The customer has not churned"


class Playbook(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    trigger_kind = models.CharField(max_length=8, choices=TriggerKind.choices, default=TriggerKind.EVENT)
    # event: the tracked event's name; ticket: a ticket touchpoint kind (blank: any); survey: nps/csat/ces (blank: any)
    trigger_event = models.CharField(max_length=200, blank=True)
    match = models.CharField(max_length=3, choices=Match.choices, default=Match.ALL)
    conditions = models.JSONField(default=list, blank=True)
    actions = models.JSONField(default=list)
    cooldown_days = models.PositiveIntegerField(default=7)  # at most one run that acts per customer per N days
    holdout_percent = models.PositiveSmallIntegerField(default=10)
    goal_kind = models.CharField(max_length=12, choices=GoalKind.choices, default=GoalKind.EVENT)
    goal_event = models.CharField(max_length=200, blank=True, default="Order Completed")
    goal_window_days = models.PositiveIntegerField(default=14)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    NOT_MATCHED = "not_matched", "Not matched"
    ACTED = "acted", "Acted"
    HELD_OUT = "held_out", "Held out"
    THROTTLED = "throttled", "Throttled"
    FAILED = "failed", "Failed"


class PlaybookRun(models.Model):
    """One evaluation of a playbook for one customer, whatever came of it (the audit the playbook page shows)."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="runs")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=12, choices=RunStatus.choices)
    reason = models.CharField(max_length=500, blank=True)
    trigger = models.CharField(max_length=16)  # event, ticket, survey, sweep, manual
    trigger_key = models.CharField(max_length=120)  # idempotency: tp:<touchpoint id>, sweep:<day>, manual:<n>
    contacted = models.BooleanField(default=False)  # at least one action reached the customer or the team
    results = models.JSONField(default=list, blank=True)  # [{"type", "ok", "detail", "ticket_id"?}]
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["playbook", "customer", "trigger_key"],
                                               name="playbook_run_once_per_trigger")]
        indexes = [models.Index(fields=["customer", "created_at"], name="playbook_run_customer_idx"),
                   models.Index(fields=["playbook", "status"], name="playbook_run_status_idx")]

    def __str__(self) -> str:
        return f"{self.playbook_id}/{self.customer_id}: {self.status}"


class PlaybookSettings(models.Model):
    """The global contact cap across all playbooks (one row)."""

    max_contacts = models.PositiveIntegerField(default=3)
    window_days = models.PositiveIntegerField(default=7)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"at most {self.max_contacts} contacts per {self.window_days} days"


class CustomerTag(models.Model):
    """A tag on a customer (set by a playbook action or an agent), usable in playbook conditions."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=50)
    playbook = models.ForeignKey(Playbook, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["customer", "name"], name="customer_tag_unique")]

    def __str__(self) -> str:
        return self.name


class EvaluationCursor(models.Model):
    """How far event-driven evaluation has read the touchpoint stream (the last touchpoint id seen)."""

    name = models.CharField(max_length=40, unique=True)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.position}"
