"""Write churn-risk predictions (the model's scoring run, or tests and the demo)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from cx.churn.models import ChurnScore
from cx.churn.selectors import ChurnReason


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
