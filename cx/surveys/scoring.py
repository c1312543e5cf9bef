"""Survey score formulas: pure functions, no Django, tested against hand-computed cases.

Skipped questions never reach these functions: callers pass only the scores that were given.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

Z95 = 1.959963984540054
# Below this many answers a score moves a lot with each new answer; reports say so next to it.
SMALL_SAMPLE = 30


@dataclass(frozen=True)
class NpsResult:
    n: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None  # -100 … +100
    standard_error: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def small_sample(self) -> bool:
        return self.n < SMALL_SAMPLE


@dataclass(frozen=True)
class CsatResult:
    n: int
    satisfied: int
    csat: float | None  # % of 4-5
    ci_low: float | None
    ci_high: float | None
    mean: float | None

    @property
    def small_sample(self) -> bool:
        return self.n < SMALL_SAMPLE


@dataclass(frozen=True)
class CesResult:
    n: int
    mean: float | None
    agree: int
    agree_percent: float | None  # % of 5-7 ("agree that it was easy")
    ci_low: float | None  # t-free normal interval of the mean
    ci_high: float | None

    @property
    def small_sample(self) -> bool:
        return self.n < SMALL_SAMPLE


def _checked(scores: Iterable[int], low: int, high: int, what: str) -> list[int]:
    values = list(scores)
    for value in values:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ValueError(f"{what} scores are whole numbers {low}-{high}, got {value!r}")
    return values


def nps(scores: Iterable[int]) -> NpsResult:
    """NPS = %promoters (9-10) - %detractors (0-6); SE = 100·√((p + d - (p - d)²)/n); 95% CI = NPS ± 1.96·SE."""
    values = _checked(scores, 0, 10, "NPS")
    n = len(values)
    promoters = sum(1 for v in values if v >= 9)
    detractors = sum(1 for v in values if v <= 6)
    passives = n - promoters - detractors
    if n == 0:
        return NpsResult(0, 0, 0, 0, None, None, None, None)
    p, d = promoters / n, detractors / n
    score = 100 * (p - d)
    se = 100 * math.sqrt(max(0.0, p + d - (p - d) ** 2) / n)
    return NpsResult(n, promoters, passives, detractors, score, se,
                     max(-100.0, score - Z95 * se), min(100.0, score + Z95 * se))


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion, in percent."""
    if n == 0:
        raise ValueError("no observations")
    phat = successes / n
    denominator = 1 + z * z / n
    centre = (phat + z * z / (2 * n)) / denominator
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denominator
    return 100 * max(0.0, centre - half), 100 * min(1.0, centre + half)


def csat(scores: Iterable[int]) -> CsatResult:
    """CSAT = % of answers 4 or 5 on the 1-5 scale, with a Wilson 95% interval."""
    values = _checked(scores, 1, 5, "CSAT")
    n = len(values)
    if n == 0:
        return CsatResult(0, 0, None, None, None, None)
    satisfied = sum(1 for v in values if v >= 4)
    low, high = wilson_interval(satisfied, n)
    return CsatResult(n, satisfied, 100 * satisfied / n, low, high, sum(values) / n)


def ces(scores: Iterable[int]) -> CesResult:
    """CES on the 1-7 "made it easy" scale: the mean (with a normal 95% interval) and % agree (5-7)."""
    values = _checked(scores, 1, 7, "CES")
    n = len(values)
    if n == 0:
        return CesResult(0, None, 0, None, None, None)
    mean = sum(values) / n
    agree = sum(1 for v in values if v >= 5)
    if n > 1:
        variance = sum((v - mean) ** 2 for v in values) / (n - 1)
        half = Z95 * math.sqrt(variance / n)
        low, high = max(1.0, mean - half), min(7.0, mean + half)
    else:
        low = high = None
    return CesResult(n, mean, agree, 100 * agree / n, low, high)
