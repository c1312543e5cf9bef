"""A customer's CLV row is their data: export shows it, erasure removes it, a merge drops both rows (the next
refit computes the merged customer's figures from the moved orders)."""

from __future__ import annotations

from cx.clv.models import CustomerClv


class CustomerClvHandler:
    name = "clv"

    def export(self, *, customer_id: int) -> list[dict]:
        return [{"fit_id": row.fit_id, "fitted_at": row.fit.fitted_at.isoformat(), "orders": row.orders,
                 "frequency": row.frequency, "recency_days": row.recency_days, "age_days": row.age_days,
                 "total_spend": row.total_spend, "expected_purchases": row.expected_purchases,
                 "horizon_days": row.fit.horizon_days, "probability_alive": row.probability_alive,
                 "expected_average_spend": row.expected_average_spend, "clv": row.clv}
                for row in CustomerClv.objects.select_related("fit").filter(customer_id=customer_id)]

    def reassign(self, *, source_id: int, target_id: int) -> list[int]:
        # Figures from separate histories cannot be added up; both are recomputed from the merged orders.
        CustomerClv.objects.filter(customer_id__in=[source_id, target_id]).delete()
        return []

    def erase(self, *, customer_id: int) -> int:
        deleted, _ = CustomerClv.objects.filter(customer_id=customer_id).delete()
        return deleted
