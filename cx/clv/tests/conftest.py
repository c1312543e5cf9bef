"""Synthetic shops: customers who buy at their own rate until they drop out (the BG/NBD story)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from cx.customers.services import customer_create
from cx.journeys.services import touchpoint_record

OBSERVATION_END = datetime(2026, 6, 30, 12, tzinfo=UTC)


def record_order(customer, when: datetime, total: float) -> None:
    touchpoint_record(customer=customer, kind="order_completed", channel="web", stage="purchase", occurred_at=when,
                      properties={"event": "Order Completed", "total": round(total, 2)}, source="test")


@pytest.fixture
def shop(db, admin_user):
    """Build ``n`` customers with simulated orders over the year before OBSERVATION_END; returns them."""

    def _build(n: int = 60, seed: int = 7, repeaters: bool = True):
        rng = np.random.default_rng(seed)
        customers = []
        for i in range(n):
            customer = customer_create(actor=admin_user, display_name=f"Buyer {i:03d}")
            customers.append(customer)
            start = OBSERVATION_END - timedelta(days=int(rng.integers(120, 360)))
            rate = rng.gamma(2.0, 1 / 40)  # purchases a day
            drop = rng.beta(1.0, 6.0)
            spend = rng.gamma(6.0, 8.0)
            day = start
            record_order(customer, day, rng.gamma(8.0, spend / 8.0))
            while repeaters:
                day = day + timedelta(days=max(1, int(rng.exponential(1 / rate))))
                if day > OBSERVATION_END or rng.random() < drop:
                    break
                record_order(customer, day, rng.gamma(8.0, spend / 8.0))
        return customers

    return _build
