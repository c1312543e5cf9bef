"""A customer's churn score is profiling data about them: export shows it, erasure deletes it, and a merge drops
the merged-away customer's score (the surviving customer is rescored on the next run)."""

from __future__ import annotations

from cx.churn.models import ChurnScore


class ChurnScoreHandler:
    name = "churn_scores"

    def export(self, *, customer_id: int) -> list[dict]:
        return [{"probability": row.probability, "reasons": row.reasons, "model_version": row.model_version,
                 "scored_at": row.scored_at.isoformat()} for row in ChurnScore.objects.filter(customer_id=customer_id)]

    def reassign(self, *, source_id: int, target_id: int) -> list[int]:
        ChurnScore.objects.filter(customer_id=source_id).delete()
        return []

    def erase(self, *, customer_id: int) -> int:
        deleted, _ = ChurnScore.objects.filter(customer_id=customer_id).delete()
        return deleted
