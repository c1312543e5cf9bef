"""Intent routing: labels with their routing mapping, labelled examples, trained models, ticket predictions."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cx.accounts.models import Team
from cx.tickets.models import Priority, Ticket


class IntentLabel(models.Model):
    """An intent/topic and what routing does with it (edited by admins)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    priority = models.CharField(max_length=10, choices=Priority.choices, blank=True)
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ExampleSource(models.TextChoices):
    IMPORT = "import", "Imported"
    CORRECTION = "correction", "Agent correction"
    CONFIRMATION = "confirmation", "Agent confirmation"


class IntentExample(models.Model):
    """One labelled text the classifier learns from; an agent's correction of a ticket adds one."""

    text = models.TextField()
    label = models.ForeignKey(IntentLabel, on_delete=models.CASCADE, related_name="examples")
    source = models.CharField(max_length=20, choices=ExampleSource.choices, default=ExampleSource.IMPORT)
    ticket = models.OneToOneField(Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.label_id}: {self.text[:40]}"


class IntentSettings(models.Model):
    """The one row of admin settings (pk=1)."""

    threshold = models.FloatField(default=0.7)  # routing acts only on predictions at least this confident
    routing_enabled = models.BooleanField(default=True)
    retrain_every_hours = models.PositiveIntegerField(default=24)  # 0: only by hand

    def __str__(self) -> str:
        return "intent settings"


class ModelStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    TRAINING = "training", "Training"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class IntentModel(models.Model):
    """One training run and, when it succeeded, the trained classifier (shared by all processes via the DB)."""

    status = models.CharField(max_length=10, choices=ModelStatus.choices, default=ModelStatus.QUEUED)
    trigger = models.CharField(max_length=20, default="admin")  # admin, command, schedule, api
    is_active = models.BooleanField(default=False)
    examples = models.PositiveIntegerField(default=0)
    labels = models.JSONField(default=list, blank=True)
    skipped_labels = models.JSONField(default=dict, blank=True)  # label -> examples, too few to learn
    holdout_accuracy = models.FloatField(null=True, blank=True)
    training_seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    artifact = models.BinaryField(default=b"", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"intent model {self.pk} ({self.status})"


class TicketIntent(models.Model):
    """The classifier's prediction for a ticket and, once an agent looked at it, the agent's verdict."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="intent_prediction")
    label = models.ForeignKey(IntentLabel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    confidence = models.FloatField(default=0.0)
    alternatives = models.JSONField(default=list, blank=True)  # [[label, probability], ...]
    model = models.ForeignKey(IntentModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    routed = models.BooleanField(default=False)  # the label's mapping was applied to the ticket
    predicted_at = models.DateTimeField(null=True, blank=True)
    corrected_label = models.ForeignKey(IntentLabel, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    corrected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    corrected_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"ticket {self.ticket_id}: {self.final_label}"

    @property
    def final_label(self) -> IntentLabel | None:
        return self.corrected_label or self.label
