"""Pure statistics for the dashboards (no Django): percentiles, rates with Wilson intervals, deltas."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Below this many observations a figure is flagged as a small sample (the surveys app uses the same cut-off).
SMALL_SAMPLE = 30


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (like PostgreSQL's percentile_cont and numpy's default); None if empty."""
    if not values:
        return None
    return percentile_of_sorted(sorted(values), q)


def percentile_of_sorted(ordered: Sequence[float], q: float) -> float | None:
    """``percentile`` of values already in ascending order (the same arithmetic, so the same float)."""
    if not ordered:
        return None
    if len(ordered) == 1:
        return float(ordered[0])
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(ordered[low])
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(part: int, whole: int) -> float | None:
    """part / whole as a percentage, None (no data) when nothing was measured."""
    return None if whole == 0 else 100.0 * part / whole


@dataclass(frozen=True)
class Delta:
    """A KPI against the previous period: ``change`` in the KPI's own unit (percentage points for rates)."""

    current: float | None
    previous: float | None
    higher_is_better: bool

    @property
    def change(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def direction(self) -> str:
        """up, down or flat (for the arrow); "" when either period has no data."""
        change = self.change
        if change is None:
            return ""
        if abs(change) < 1e-9:
            return "flat"
        return "up" if change > 0 else "down"

    @property
    def verdict(self) -> str:
        """better, worse or same: the colour of the arrow."""
        direction = self.direction
        if direction in ("", "flat"):
            return "same"
        return "better" if (direction == "up") == self.higher_is_better else "worse"
