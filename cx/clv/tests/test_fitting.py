"""The CLV models reproduce the published CDNOW estimates (data shipped in the lifetimes package)."""

from __future__ import annotations

import csv
from datetime import date
from importlib.resources import files

import numpy as np
import pytest

from cx.clv import fitting
from cx.clv.evaluation import cdnow_summary


def close(value: float, published: float, tolerance: float = 0.005) -> bool:
    return abs(value - published) <= tolerance * abs(published)


@pytest.fixture(scope="module")
def cdnow():
    return cdnow_summary()


def test_bgnbd_reproduces_fader_hardie_lee_2005_on_cdnow(cdnow):
    counts, _ = cdnow
    assert len(counts.keys) == 2357
    fit = fitting.fit_bgnbd(counts.frequency, counts.recency, counts.T)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert close(fit.params[name], value), (name, fit.params[name], value)
    assert close(fit.loglik, -9582.4)


def test_pareto_nbd_reproduces_the_published_cdnow_estimates(cdnow):
    counts, _ = cdnow
    fit = fitting.fit_pareto_nbd(counts.frequency, counts.recency, counts.T)
    for name, value in {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}.items():
        assert close(fit.params[name], value), (name, fit.params[name], value)
    assert close(fit.loglik, -9595.0)


def test_gamma_gamma_reproduces_the_lifetimes_docs_on_the_cdnow_spend_summary(cdnow):
    _, spend = cdnow
    fit = fitting.fit_gamma_gamma(spend.frequency, spend.monetary)
    assert fit.n == 946
    for name, value in {"p": 6.25, "q": 3.74, "v": 15.45}.items():
        assert close(fit.params[name], value), (name, fit.params[name], value)


def test_bgnbd_predictions_match_the_lifetimes_implementation(cdnow):
    import pandas as pd
    from lifetimes import BetaGeoFitter

    counts, _ = cdnow
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    reference = BetaGeoFitter()
    reference.params_ = pd.Series(params)
    x, t_x, T = counts.frequency, counts.recency, counts.T
    ours = fitting.bgnbd_expected_purchases(params, 39, x, t_x, T)
    theirs = reference.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T)
    assert np.allclose(ours, theirs, rtol=1e-9)
    assert np.allclose(fitting.bgnbd_p_alive(params, x, t_x, T),
                       reference.conditional_probability_alive(x, t_x, T), rtol=1e-9)


def test_pareto_predictions_behave(cdnow):
    counts, _ = cdnow
    params = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    x, t_x, T = counts.frequency, counts.recency, counts.T
    alive = fitting.pareto_p_alive(params, x, t_x, T)
    assert np.all((alive > 0) & (alive <= 1))
    # Same frequency, a more recent last purchase: more likely alive and more expected purchases.
    recent = fitting.pareto_p_alive(params, np.array([3.0, 3.0]), np.array([35.0, 5.0]), np.array([38.0, 38.0]))
    assert recent[0] > recent[1]
    # The two models forecast the cohort's repeat purchases in weeks 40-78 alike (about 1,650 each).
    pareto_total = float(np.sum(fitting.pareto_expected_purchases(params, 39, x, t_x, T)))
    bgnbd_total = float(np.sum(fitting.bgnbd_expected_purchases(
        {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, 39, x, t_x, T)))
    assert 1600 < pareto_total < 1700 and abs(pareto_total - bgnbd_total) < 0.02 * bgnbd_total


def test_summary_from_transactions_counts_repeat_days_and_mean_repeat_spend():
    rows = [("a", date(2026, 1, 1), 10.0), ("a", date(2026, 1, 1), 5.0), ("a", date(2026, 1, 11), 20.0),
            ("a", date(2026, 1, 21), 40.0), ("b", date(2026, 1, 5), 7.0), ("c", date(2026, 3, 1), 9.0)]
    summary = fitting.summary_from_transactions(rows, observation_end=date(2026, 1, 31))
    assert summary.keys == ["a", "b"]  # c bought after the end of observation
    assert list(summary.frequency) == [2, 0]
    assert list(summary.recency) == [20, 0]
    assert list(summary.T) == [30, 26]
    assert list(summary.monetary) == [30.0, 0.0]
    assert list(summary.total_spend) == [75.0, 7.0]
    weeks = fitting.summary_from_transactions(rows, observation_end=date(2026, 1, 29), unit_days=7)
    assert weeks.T[0] == 4.0


def test_too_few_repeat_customers_is_a_clear_error_not_a_fit():
    x = np.array([1.0] * 5 + [0.0] * 50)
    t_x = np.where(x > 0, 10.0, 0.0)
    with pytest.raises(fitting.NotEnoughData, match="5 customers with repeat purchases; the models need at least 20"):
        fitting.fit_bgnbd(x, t_x, np.full(55, 30.0))
    with pytest.raises(ValueError, match="recency cannot be larger than T"):
        fitting.check_summary(np.array([1.0]), np.array([40.0]), np.array([30.0]))


def test_lifetime_value_discounts_monthly_cash_flows():
    flat = lambda t: np.array([t / 30.0])  # one purchase a month  # noqa: E731
    undiscounted = fitting.lifetime_value(flat, np.array([100.0]), horizon=360, annual_discount_rate=0.0,
                                          units_per_year=360, step=30)
    assert undiscounted[0] == pytest.approx(1200.0)
    discounted = fitting.lifetime_value(flat, np.array([100.0]), horizon=360, annual_discount_rate=0.12,
                                        units_per_year=360, step=30)
    expected = sum(100.0 / 1.12 ** (k / 12) for k in range(1, 13))
    assert discounted[0] == pytest.approx(expected)


def test_cdnow_data_files_are_the_published_cohort():
    with (files("lifetimes") / "datasets" / "cdnow_customers_summary.csv").open() as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == 2357
