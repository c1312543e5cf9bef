"""Touchpoints: the append-only record of every interaction on a customer's journey."""

from __future__ import annotations

from django.db import models


class Stage(models.TextChoices):
    AWARENESS = "awareness", "Awareness"
    CONSIDERATION = "consideration", "Consideration"
    PURCHASE = "purchase", "Purchase"
    ONBOARDING = "onboarding", "Onboarding"
    USAGE = "usage", "Usage"
    SUPPORT = "support", "Support"
    LOYALTY = "loyalty", "Loyalty"
    ADVOCACY = "advocacy", "Advocacy"


class Touchpoint(models.Model):
    """One moment of the journey. Rows are only ever appended; merge and erasure are the exceptions,
    done in bulk by the services of this app."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="touchpoints")
    kind = models.CharField(max_length=100)  # e.g. ticket.created, page.viewed, order.completed
    channel = models.CharField(max_length=32)  # e.g. email, chat, web, phone, whatsapp, self-service
    stage = models.CharField(max_length=16, choices=Stage.choices)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    properties = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=64)  # who wrote it: tickets, api, tracking:<source>, demo
    # Optional idempotency key: the same (source, external_id) is recorded once.
    external_id = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"], name="touchpoint_timeline_idx"),
            models.Index(fields=["kind", "occurred_at"], name="touchpoint_kind_idx"),
            models.Index(fields=["stage", "occurred_at"], name="touchpoint_stage_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~models.Q(external_id=""),
                name="touchpoint_source_external_id_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.channel}, {self.stage}) at {self.occurred_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Touchpoints are append-only; use the journeys services for merge and erasure.")
        super().save(*args, **kwargs)


class Department(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"
    PRODUCT = "product", "Product"
    OPERATIONS = "operations", "Operations"
    SUPPORT = "support", "Support"


class TouchpointDefinition(models.Model):
    """The touchpoint catalog: which event (optionally with one property value) is which touchpoint, in which
    stage and channel, and which department owns it. Internal touchpoint kinds (ticket.created, ...) can be
    catalogued too, to name them and give them an owner."""

    event = models.CharField(max_length=200)
    property_name = models.CharField(max_length=100, blank=True, default="")
    property_value = models.CharField(max_length=200, blank=True, default="")
    name = models.CharField(max_length=120)
    stage = models.CharField(max_length=16, choices=Stage.choices)
    channel = models.CharField(max_length=32, default="web")
    department = models.CharField(max_length=16, choices=Department.choices)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["stage", "name"]
        constraints = [
            models.UniqueConstraint(fields=["event", "property_name", "property_value"],
                                    name="touchpoint_definition_unique_match"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.event})"
