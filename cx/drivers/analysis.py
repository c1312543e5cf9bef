"""Driver analysis: regression of an outcome (NPS, CSAT, churn) on service and journey factors.

Pure numpy/scipy, no Django. Scores get ordinary least squares (effects in score points per unit of the
factor, t-based 95% intervals and p-values); churn gets logistic regression by iteratively reweighted least
squares (effects in log-odds, reported with odds ratios, Wald intervals and p-values). Factors without
variation or that repeat other factors (collinear) are dropped with a note, never silently fitted.

"Focus areas" rank factors the way key-driver charts do: impact is the change in the outcome for a one
standard deviation move of the factor (|effect| x SD), performance is the outcome among the customers on the
harmful side of the factor; a focus area is a significant factor with above-median impact whose harmful side
performs worse than everyone on average.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Z95 = 1.959963984540054
MIN_EXPOSED = 5  # a yes/no factor needs this many rows on each side to be estimated
RIDGE = 1e-8


@dataclass(frozen=True)
class Factor:
    key: str
    label: str
    unit: str = ""  # "hour", "ticket" ... ; "" for yes/no factors
    binary: bool = True


@dataclass
class Effect:
    factor: Factor
    coefficient: float
    ci_low: float
    ci_high: float
    p_value: float
    std_error: float
    exposed: int  # rows on the non-zero side (yes/no) or with a non-zero value
    sd: float
    impact: float = 0.0  # |coefficient| x SD, in outcome units (score points or log-odds)
    performance: float | None = None  # outcome among rows on the harmful side
    harmful_n: int = 0
    focus: bool = False

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05

    @property
    def odds_ratio(self) -> float:
        return math.exp(max(-50.0, min(50.0, self.coefficient)))


@dataclass
class DriverResult:
    outcome: str  # nps, csat, churn
    method: str  # ols or logistic
    n: int
    effects: list[Effect] = field(default_factory=list)
    intercept: float | None = None
    r_squared: float | None = None  # OLS; McFadden's pseudo R² for logistic
    baseline_performance: float | None = None
    dropped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def focus_areas(self) -> list[Effect]:
        return sorted((e for e in self.effects if e.focus), key=lambda e: -e.impact)


class NoData(Exception):
    """Nothing to analyse (no rows, or no factor with variation)."""


def _usable_columns(X: np.ndarray, factors: Sequence[Factor], dropped: list[str]) -> list[int]:
    """Columns with variation (both sides populated for yes/no factors) that add rank (not collinear)."""
    keep: list[int] = []
    for j, factor in enumerate(factors):
        column = X[:, j]
        if np.nanstd(column) == 0:
            dropped.append(f"{factor.label}: the same for everyone")
            continue
        if factor.binary:
            ones = int(np.sum(column != 0))
            if min(ones, len(column) - ones) < MIN_EXPOSED:
                dropped.append(f"{factor.label}: fewer than {MIN_EXPOSED} on one side")
                continue
        candidate = np.column_stack([np.ones(len(column)), X[:, [*keep, j]]])
        if np.linalg.matrix_rank(candidate) < candidate.shape[1]:
            dropped.append(f"{factor.label}: determined by other factors")
            continue
        keep.append(j)
    return keep


def _sample_warnings(n: int, k: int, warnings: list[str]) -> None:
    if n < 30:
        warnings.append(f"Small sample: {n} rows. Effects are very uncertain; read the intervals, not the points.")
    elif n < 10 * max(k, 1):
        warnings.append(f"Small sample for {k} factors ({n} rows, fewer than 10 per factor): intervals are wide.")


def ols(X: np.ndarray, y: np.ndarray, factors: Sequence[Factor], *, outcome: str) -> DriverResult:
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(y) == 0:
        raise NoData("no rows")
    result = DriverResult(outcome=outcome, method="ols", n=len(y))
    keep = _usable_columns(X, factors, result.dropped)
    if not keep:
        raise NoData("no factor varies across the rows")
    design = np.column_stack([np.ones(len(y)), X[:, keep]])
    n, p = design.shape
    if n <= p:
        raise NoData(f"{n} rows for {p - 1} factors: at least {p + 1} rows are needed")
    _sample_warnings(n, p - 1, result.warnings)
    from scipy import stats  # imported on first use: keeps web-process start-up light

    xtx_inv = np.linalg.inv(design.T @ design + RIDGE * np.eye(p))
    beta = xtx_inv @ design.T @ y
    residuals = y - design @ beta
    dof = n - p
    sigma2 = float(residuals @ residuals) / dof
    se = np.sqrt(np.maximum(np.diag(xtx_inv) * sigma2, 0.0))
    t_crit = float(stats.t.ppf(0.975, dof))
    total = float(np.sum((y - y.mean()) ** 2))
    result.r_squared = 1 - float(residuals @ residuals) / total if total > 0 else None
    result.intercept = float(beta[0])
    for position, j in enumerate(keep, start=1):
        b, s = float(beta[position]), float(se[position])
        t = b / s if s > 0 else math.inf
        p_value = float(2 * stats.t.sf(abs(t), dof)) if s > 0 else 0.0
        result.effects.append(Effect(factors[j], b, b - t_crit * s, b + t_crit * s, p_value, s,
                                     int(np.sum(X[:, j] != 0)), float(np.std(X[:, j]))))
    return result


def logistic(X: np.ndarray, y: np.ndarray, factors: Sequence[Factor], *, outcome: str,
             max_iterations: int = 100) -> DriverResult:
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(y) == 0:
        raise NoData("no rows")
    positives = int(np.sum(y))
    if positives == 0 or positives == len(y):
        raise NoData("every customer has the same outcome (all churned or none): nothing to explain")
    result = DriverResult(outcome=outcome, method="logistic", n=len(y))
    keep = _usable_columns(X, factors, result.dropped)
    if not keep:
        raise NoData("no factor varies across the rows")
    design = np.column_stack([np.ones(len(y)), X[:, keep]])
    n, p = design.shape
    if n <= p:
        raise NoData(f"{n} rows for {p - 1} factors: at least {p + 1} rows are needed")
    _sample_warnings(n, p - 1, result.warnings)
    events = min(positives, n - positives)
    if events < 10 * (p - 1):
        result.warnings.append(f"Only {events} customers in the smaller outcome group for {p - 1} factors "
                               f"(fewer than 10 per factor): intervals are wide.")
    from scipy import stats

    beta = np.zeros(p)
    beta[0] = math.log(positives / (n - positives))
    converged = False
    for _ in range(max_iterations):
        eta = np.clip(design @ beta, -30, 30)
        mu = 1 / (1 + np.exp(-eta))
        w = np.maximum(mu * (1 - mu), 1e-10)
        hessian = design.T @ (design * w[:, None]) + RIDGE * np.eye(p)
        step = np.linalg.solve(hessian, design.T @ (y - mu))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-8:
            converged = True
            break
    eta = np.clip(design @ beta, -30, 30)
    mu = 1 / (1 + np.exp(-eta))
    w = np.maximum(mu * (1 - mu), 1e-10)
    cov = np.linalg.inv(design.T @ (design * w[:, None]) + RIDGE * np.eye(p))
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    if not converged or np.any(np.abs(beta[1:]) > 15):
        result.warnings.append("Some factor predicts churn (almost) perfectly, so its effect cannot be estimated "
                               "precisely (separation); its interval is unreliable.")
    loglik = float(np.sum(y * np.log(np.maximum(mu, 1e-300)) + (1 - y) * np.log(np.maximum(1 - mu, 1e-300))))
    rate = positives / n
    null = n * (rate * math.log(rate) + (1 - rate) * math.log(1 - rate))
    result.r_squared = 1 - loglik / null if null < 0 else None
    result.intercept = float(beta[0])
    for position, j in enumerate(keep, start=1):
        b, s = float(beta[position]), float(se[position])
        z = b / s if s > 0 else math.inf
        p_value = float(2 * stats.norm.sf(abs(z))) if s > 0 else 0.0
        result.effects.append(Effect(factors[j], b, b - Z95 * s, b + Z95 * s, p_value, s,
                                     int(np.sum(X[:, j] != 0)), float(np.std(X[:, j]))))
    return result


def add_focus_areas(result: DriverResult, X: np.ndarray, factors: Sequence[Factor], rows_outcome: Sequence,
                    performance: Callable[[list], float | None], *, higher_is_better: bool) -> None:
    """Fill impact, performance on the harmful side and the focus flag of each effect.

    ``performance`` turns a list of per-row outcomes into the headline figure (NPS, CSAT %, retention %).
    """
    X = np.asarray(X, dtype=float)
    index = {factor.key: j for j, factor in enumerate(factors)}
    outcomes = list(rows_outcome)
    result.baseline_performance = performance(outcomes)
    for effect in result.effects:
        effect.impact = abs(effect.coefficient) * effect.sd
        column = X[:, index[effect.factor.key]]
        raises_outcome = effect.coefficient > 0
        harmful_high = raises_outcome != higher_is_better  # the factor's high side lowers the good outcome
        if effect.factor.binary:
            side = column != 0 if harmful_high else column == 0
        else:
            middle = float(np.median(column))
            side = column > middle if harmful_high else column <= middle
        chosen = [outcome for outcome, on_side in zip(outcomes, side, strict=True) if on_side]
        effect.harmful_n = len(chosen)
        effect.performance = performance(chosen) if chosen else None
    significant = [e for e in result.effects if e.significant]
    if not significant:
        return
    cut = float(np.median([e.impact for e in significant]))
    for effect in significant:
        below = (effect.performance is not None and result.baseline_performance is not None
                 and effect.performance < result.baseline_performance)
        effect.focus = effect.impact >= cut and below
