"""Customer-lifetime-value models by maximum likelihood: BG/NBD, Pareto/NBD and Gamma-Gamma.

Pure numpy/scipy, no Django: the app feeds it per-customer summaries (frequency = repeat purchases, recency =
time from the first to the last purchase, T = time from the first purchase to the end of the observation) and
stores what comes out. The likelihoods follow Fader, Hardie & Lee (2005) "Counting your customers the easy
way" (BG/NBD), Fader & Hardie's note on the Pareto/NBD (2005) and on the Gamma-Gamma spend model (2013). Time
is scaled so the longest customer age is 10 units while fitting (the optimiser then works on numbers near 1)
and the scale parameters are mapped back, so parameters are reported in the caller's own unit.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
from scipy.special import betaln, gammaln, hyp2f1, logsumexp

MIN_REPEAT_CUSTOMERS = 20


class NotEnoughData(Exception):
    """Too few customers (with repeat purchases) for the model to be identified."""


class FitFailed(Exception):
    """The optimiser did not converge to finite parameters."""


@dataclass(frozen=True)
class Summary:
    """Frequency/recency/T per customer (one entry per position), optionally with the mean repeat spend."""

    keys: list
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    monetary: np.ndarray | None = None  # mean value of the repeat purchases (0 when there are none)
    orders: np.ndarray | None = None  # purchases in total, first included
    total_spend: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.keys)
        for name in ("frequency", "recency", "T"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} values for {n} customers")

    @property
    def repeat_customers(self) -> int:
        return int(np.sum(self.frequency > 0))


@dataclass(frozen=True)
class Fit:
    model: str  # bgnbd, pareto_nbd, gamma_gamma
    params: dict[str, float]
    loglik: float  # total log-likelihood on the data, in the caller's time unit
    n: int  # customers the model was fitted on
    iterations: int = 0
    extra: dict[str, float] = field(default_factory=dict)


def summary_from_transactions(rows: Iterable[tuple[object, datetime | date, float | None]], *,
                              observation_end: datetime | date, unit_days: float = 1.0) -> Summary:
    """Summarise purchases the way the models expect: purchases on the same day count once (their amounts
    add up), frequency counts the days with a purchase after the first, monetary is the mean of those repeat
    days' amounts. Purchases after ``observation_end`` are ignored."""
    end = _day(observation_end)
    days: dict[object, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for key, when, amount in rows:
        day = _day(when)
        if day > end:
            continue
        days[key][day] += float(amount or 0.0)
    keys = sorted(days, key=lambda k: (str(type(k)), k))
    freq, rec, age, mon, orders, spend = [], [], [], [], [], []
    for key in keys:
        per_day = days[key]
        ordered = sorted(per_day)
        first, last = ordered[0], ordered[-1]
        freq.append(len(ordered) - 1)
        rec.append((last - first).days / unit_days)
        age.append((end - first).days / unit_days)
        repeat = [per_day[d] for d in ordered[1:]]
        mon.append(sum(repeat) / len(repeat) if repeat else 0.0)
        orders.append(len(ordered))
        spend.append(sum(per_day.values()))
    return Summary(keys=keys, frequency=np.array(freq, dtype=float), recency=np.array(rec, dtype=float),
                   T=np.array(age, dtype=float), monetary=np.array(mon, dtype=float),
                   orders=np.array(orders, dtype=float), total_spend=np.array(spend, dtype=float))


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def check_summary(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> None:
    """Raise ValueError with the reason when the summary is inconsistent (the user's data, not our bug)."""
    if len(frequency) == 0:
        raise NotEnoughData("no customers with purchases")
    if not (np.all(np.isfinite(frequency)) and np.all(np.isfinite(recency)) and np.all(np.isfinite(T))):
        raise ValueError("frequency, recency and T must be finite numbers")
    if np.any(frequency < 0) or np.any(np.abs(frequency - np.round(frequency)) > 1e-9):
        raise ValueError("frequency must be a whole number ≥ 0 (repeat purchases)")
    if np.any(recency < 0) or np.any(T < 0):
        raise ValueError("recency and T must be ≥ 0")
    if np.any(recency > T + 1e-9):
        raise ValueError("recency cannot be larger than T (the last purchase is after the end of observation)")
    if np.any((frequency == 0) & (recency > 1e-9)):
        raise ValueError("customers without repeat purchases must have recency 0")


def _require_repeaters(frequency: np.ndarray, minimum: int) -> None:
    repeaters = int(np.sum(frequency > 0))
    if repeaters < minimum:
        raise NotEnoughData(f"{repeaters} customer{'s' if repeaters != 1 else ''} with repeat purchases; "
                            f"the models need at least {minimum}")


def _optimise(negll: Callable[[np.ndarray], float], start: np.ndarray, model: str) -> tuple[np.ndarray, int]:
    """Minimise over log-parameters (keeps them positive): L-BFGS-B, then Nelder-Mead polishing from there."""
    from scipy.optimize import minimize  # imported on first fit: keeps web-process start-up light

    def safe(theta: np.ndarray) -> float:
        if np.any(np.abs(theta) > 30):
            return 1e300
        with np.errstate(all="ignore"):
            value = negll(np.exp(theta))
        return value if np.isfinite(value) else 1e300

    first = minimize(safe, start, method="L-BFGS-B")
    second = minimize(safe, first.x, method="Nelder-Mead",
                      options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000, "maxfev": 40000})
    best = second if second.fun <= first.fun else first
    if not np.isfinite(best.fun) or best.fun >= 1e299 or np.any(np.abs(best.x) > 25):
        raise FitFailed(f"the {model} fit did not converge to finite parameters")
    if not second.success and not first.success:
        raise FitFailed(f"the {model} fit did not converge ({second.message})")
    return np.exp(best.x), int(first.nit + second.nit)


# --- BG/NBD ------------------------------------------------------------------------------------------------

def bgnbd_loglik_terms(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.where(repeat, np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
                  -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def fit_bgnbd(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, *,
              min_repeat_customers: int = MIN_REPEAT_CUSTOMERS) -> Fit:
    check_summary(frequency, recency, T)
    _require_repeaters(frequency, min_repeat_customers)
    scale = 10.0 / float(np.max(T)) if np.max(T) > 0 else 1.0
    xs, ts, Ts = frequency, recency * scale, T * scale
    best, iterations = _optimise(lambda p: -float(np.sum(bgnbd_loglik_terms(p, xs, ts, Ts))),
                                 np.log(np.array([1.0, 1.0, 1.0, 1.0])), "BG/NBD")
    r, alpha, a, b = best
    params = np.array([r, alpha / scale, a, b])
    loglik = float(np.sum(bgnbd_loglik_terms(params, frequency, recency, T)))
    return Fit("bgnbd", dict(zip(("r", "alpha", "a", "b"), map(float, params), strict=True)), loglik,
               len(frequency), iterations)


def bgnbd_p_alive(params: dict[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = (np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                     + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
    return np.where(x > 0, 1.0 / (1.0 + np.exp(np.minimum(log_ratio, 700))), 1.0)


def bgnbd_expected_purchases(params: dict[str, float], t: float, x: np.ndarray, t_x: np.ndarray,
                             T: np.ndarray) -> np.ndarray:
    """E[purchases in the next t | x, t_x, T] (FHL 2005 eq. 10)."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    if t <= 0:
        return np.zeros_like(x, dtype=float)
    z = t / (alpha + T + t)
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
    first = (a + b + x - 1) / (a - 1)
    second = 1 - np.power((alpha + T) / (alpha + T + t), r + x) * hyp
    denominator = 1 + np.where(x > 0, a / np.maximum(b + x - 1, 1e-300)
                               * np.power((alpha + T) / (alpha + t_x), r + x), 0.0)
    return np.maximum(first * second / denominator, 0.0)


# --- Pareto/NBD --------------------------------------------------------------------------------------------

def _pnbd_log_a0(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    r, alpha, s, beta = params
    if alpha >= beta:
        high, low, second = alpha, beta, s + 1
    else:
        high, low, second = beta, alpha, r + x
    rsx = r + s + x
    q1, q2 = high + t_x, high + T
    p1 = hyp2f1(rsx, second, rsx + 1, (high - low) / q1)
    p2 = hyp2f1(rsx, second, rsx + 1, (high - low) / q2)
    stacked = np.vstack([np.log(p1) + rsx * np.log(q2), np.log(p2) + rsx * np.log(q1)])
    signs = np.vstack([np.ones_like(rsx), -np.ones_like(rsx)])
    return logsumexp(stacked, axis=0, b=signs) - rsx * np.log(q1 * q2)


def pareto_loglik_terms(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    r, alpha, s, beta = params
    rsx = r + s + x
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_a0 = _pnbd_log_a0(params, x, t_x, T)
    return a1 + np.logaddexp(-(r + x) * np.log(alpha + T) - s * np.log(beta + T),
                             np.log(s) + log_a0 - np.log(rsx))


def fit_pareto_nbd(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, *,
                   min_repeat_customers: int = MIN_REPEAT_CUSTOMERS) -> Fit:
    check_summary(frequency, recency, T)
    _require_repeaters(frequency, min_repeat_customers)
    scale = 10.0 / float(np.max(T)) if np.max(T) > 0 else 1.0
    xs, ts, Ts = frequency, recency * scale, T * scale
    best, iterations = _optimise(lambda p: -float(np.sum(pareto_loglik_terms(p, xs, ts, Ts))),
                                 np.log(np.array([1.0, 1.0, 1.0, 1.0])), "Pareto/NBD")
    r, alpha, s, beta = best
    params = np.array([r, alpha / scale, s, beta / scale])
    loglik = float(np.sum(pareto_loglik_terms(params, frequency, recency, T)))
    return Fit("pareto_nbd", dict(zip(("r", "alpha", "s", "beta"), map(float, params), strict=True)), loglik,
               len(frequency), iterations)


def pareto_p_alive(params: dict[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    p = np.array([params["r"], params["alpha"], params["s"], params["beta"]])
    r, alpha, s, beta = p
    log_a0 = _pnbd_log_a0(p, x, t_x, T)
    exponent = np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T) + s * np.log(beta + T) + log_a0
    return 1.0 / (1.0 + np.exp(np.minimum(exponent, 700)))


def pareto_expected_purchases(params: dict[str, float], t: float, x: np.ndarray, t_x: np.ndarray,
                              T: np.ndarray) -> np.ndarray:
    """E[purchases in the next t | x, t_x, T]
    = P(alive) * (r + x)(beta + T) / ((alpha + T)(s - 1)) * [1 - ((beta + T)/(beta + T + t))^(s - 1)]."""
    r, alpha, s, beta = params["r"], params["alpha"], params["s"], params["beta"]
    if t <= 0:
        return np.zeros_like(x, dtype=float)
    alive = pareto_p_alive(params, x, t_x, T)
    if abs(s - 1) < 1e-9:
        tail = np.log((beta + T + t) / (beta + T))
    else:
        tail = (1 - np.power((beta + T) / (beta + T + t), s - 1)) / (s - 1)
    return alive * (r + x) * (beta + T) / (alpha + T) * tail


# --- Gamma-Gamma -------------------------------------------------------------------------------------------

def gamma_gamma_loglik_terms(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    p, q, v = params
    return (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v) + (p * x - 1) * np.log(m)
            + p * x * np.log(x) - (p * x + q) * np.log(x * m + v))


def fit_gamma_gamma(frequency: np.ndarray, monetary: np.ndarray, *,
                    min_repeat_customers: int = MIN_REPEAT_CUSTOMERS) -> Fit:
    """Fit on customers with repeat purchases and a positive mean repeat spend."""
    use = (frequency > 0) & (monetary > 0)
    x, m = frequency[use].astype(float), monetary[use].astype(float)
    if len(x) < min_repeat_customers:
        raise NotEnoughData(f"{len(x)} customer{'s' if len(x) != 1 else ''} with repeat purchases and a spend; "
                            f"the spend model needs at least {min_repeat_customers}")
    scale = 10.0 / float(np.max(m))
    best, iterations = _optimise(lambda p: -float(np.sum(gamma_gamma_loglik_terms(p, x, m * scale))),
                                 np.log(np.array([1.0, 1.0, 1.0])), "Gamma-Gamma")
    p, q, v = best
    params = np.array([p, q, v / scale])
    if q <= 1:
        raise FitFailed("the Gamma-Gamma fit has q ≤ 1, so the expected spend is unbounded; more data is needed")
    loglik = float(np.sum(gamma_gamma_loglik_terms(params, x, m)))
    return Fit("gamma_gamma", dict(zip(("p", "q", "v"), map(float, params), strict=True)), loglik, len(x),
               iterations)


def gamma_gamma_expected_spend(params: dict[str, float], x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[M | p, q, v, x, m̄]: the population mean p·v/(q-1) for customers without repeat purchases."""
    p, q, v = params["p"], params["q"], params["v"]
    return (p * (v + x * m)) / (p * x + q - 1)


# --- Lifetime value ---------------------------------------------------------------------------------------

def lifetime_value(expected: Callable[[float], np.ndarray], spend: np.ndarray, *, horizon: float,
                   annual_discount_rate: float, units_per_year: float, step: float) -> np.ndarray:
    """Σ over steps of (expected purchases in the step) · expected spend, discounted to today at the annual
    rate, each step's cash counted at its end (monthly steps by default, as in lifetimes)."""
    total = np.zeros_like(spend, dtype=float)
    previous = np.zeros_like(spend, dtype=float)
    steps = max(1, math.ceil(horizon / step - 1e-9))
    for k in range(1, steps + 1):
        until = min(k * step, horizon)
        cumulative = expected(until)
        discount = (1 + annual_discount_rate) ** (until / units_per_year)
        total += (cumulative - previous) * spend / discount
        previous = cumulative
    return total
