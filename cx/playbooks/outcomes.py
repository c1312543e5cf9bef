"""Measured outcome of a playbook: the goal rate of contacted customers against the holdout group, with
Wilson intervals per group and Newcombe's hybrid score interval for the difference (better than the Wald
interval at the small samples a new playbook has). Pure: no Django; the Wilson interval is the surveys app's."""

from __future__ import annotations

import math
from dataclasses import dataclass

from cx.surveys.scoring import wilson_interval


@dataclass(frozen=True)
class GroupRate:
    n: int
    reached: int
    rate: float | None  # percent
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class Uplift:
    contacted: GroupRate
    holdout: GroupRate
    difference: float | None  # percentage points, contacted minus holdout
    ci_low: float | None
    ci_high: float | None

    @property
    def significant(self) -> bool:
        return self.ci_low is not None and (self.ci_low > 0 or self.ci_high < 0)


def group_rate(reached: int, n: int) -> GroupRate:
    if reached < 0 or n < 0 or reached > n:
        raise ValueError("0 <= reached <= n")
    if n == 0:
        return GroupRate(0, 0, None, None, None)
    low, high = wilson_interval(reached, n)
    return GroupRate(n, reached, 100 * reached / n, low, high)


def uplift(*, contacted_reached: int, contacted_n: int, holdout_reached: int, holdout_n: int) -> Uplift:
    """Goal rate difference (contacted - holdout) in percentage points with its 95% interval (Newcombe 1998,
    method 10); None when either group is empty."""
    a = group_rate(contacted_reached, contacted_n)
    b = group_rate(holdout_reached, holdout_n)
    if a.rate is None or b.rate is None:
        return Uplift(a, b, None, None, None)
    d = a.rate - b.rate
    low = d - math.sqrt((a.rate - a.ci_low) ** 2 + (b.ci_high - b.rate) ** 2)
    high = d + math.sqrt((a.ci_high - a.rate) ** 2 + (b.rate - b.ci_low) ** 2)
    return Uplift(a, b, d, max(-100.0, low), min(100.0, high))
