"""Automations: triggers (on ticket changes), time rules (periodic), macros (applied by an agent), and the
small amount of state that makes them fire once: a log of trigger firings, time-rule runs per ticket state,
and when each ticket entered its current status."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Trigger(models.Model):
    """When a ticket is created or changes and the conditions hold, the actions run (in ``position`` order)."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    conditions = models.JSONField(default=dict)
    actions = models.JSONField(default=list)
    # Zendesk-style "only once": never act on the same ticket twice, whatever changes later.
    fire_once_per_ticket = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["is_active", "position"], name="trigger_active_idx")]

    def __str__(self) -> str:
        return self.name


class Outcome(models.TextChoices):
    FIRED = "fired", "Fired"
    FAILED = "failed", "Failed (actions rolled back)"


class TriggerFiring(models.Model):
    """One time a trigger acted on a ticket: its log, and what ``fire_once_per_ticket`` checks."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="firings")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    fired_at = models.DateTimeField()
    depth = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.FIRED)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-fired_at", "-id"]
        indexes = [models.Index(fields=["trigger", "ticket"], name="trigger_firing_ticket_idx")]

    def __str__(self) -> str:
        return f"trigger {self.trigger_id} on #{self.ticket_id}"


class TimeRule(models.Model):
    """Checked every few minutes against unresolved tickets ("pending for 3 days -> remind")."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    conditions = models.JSONField(default=dict)
    actions = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class TimeRuleRun(models.Model):
    """A rule acted on a ticket while it was in one status stint; it acts again only in a new stint."""

    rule = models.ForeignKey(TimeRule, on_delete=models.CASCADE, related_name="runs")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    # "<status id>@<entered at>": the stint the ticket was in when the rule acted.
    state_key = models.CharField(max_length=64)
    state_entered_at = models.DateTimeField()
    fired_at = models.DateTimeField()
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.FIRED)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "ticket", "state_key"], name="time_rule_run_once_per_state"),
        ]
        indexes = [models.Index(fields=["rule", "ticket", "state_entered_at"], name="time_rule_run_state_idx")]

    def __str__(self) -> str:
        return f"rule {self.rule_id} on #{self.ticket_id} ({self.state_key})"


class TicketStatusEntry(models.Model):
    """When the ticket entered its current status (for ``hours_in_status`` and the time-rule stints).

    Kept by the automation observer from ticket changes, so the tickets table needs no extra column."""

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, primary_key=True,
                                  related_name="automation_status_entry")
    status = models.ForeignKey("tickets.TicketStatus", on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"#{self.ticket_id} in {self.status_id} since {self.entered_at:%Y-%m-%d %H:%M}"

    @property
    def state_key(self) -> str:
        return f"{self.status_id}@{self.entered_at.isoformat()}"


class Macro(models.Model):
    """A named bundle of actions an agent applies to a ticket in one click.

    Shared macros (no owner) are managed by admins and visible to everyone, or only to one team's members;
    personal macros belong to the agent who made them."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    actions = models.JSONField(default=list)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="macros")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    applied_count = models.PositiveIntegerField(default=0)
    last_applied_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None
