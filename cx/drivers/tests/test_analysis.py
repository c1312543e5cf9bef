"""The regression methods recover known effects from synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from cx.drivers import analysis
from cx.drivers.analysis import Factor

FACTORS = [Factor("frt", "First response time", unit="hour", binary=False), Factor("sla", "SLA breached"),
           Factor("kb", "Read a help article"), Factor("noise", "Unrelated")]


def synthetic(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.uniform(0, 48, n), rng.random(n) < 0.3, rng.random(n) < 0.4, rng.random(n) < 0.5])
    return X.astype(float), rng


def test_ols_recovers_known_effects_with_intervals_and_p_values():
    X, rng = synthetic(2000)
    true = {"frt": -0.05, "sla": -2.0, "kb": 0.8, "noise": 0.0}
    y = 8 + X @ np.array(list(true.values())) + rng.normal(0, 1.0, len(X))
    result = analysis.ols(X, y, FACTORS, outcome="nps")
    effects = {e.factor.key: e for e in result.effects}
    for key, value in true.items():
        assert effects[key].ci_low <= value <= effects[key].ci_high, (key, effects[key])
    assert effects["sla"].coefficient == pytest.approx(-2.0, abs=0.15)
    assert effects["frt"].p_value < 1e-6 and effects["sla"].p_value < 1e-6 and effects["kb"].p_value < 1e-6
    assert effects["noise"].p_value > 0.01
    assert result.intercept == pytest.approx(8.0, abs=0.2) and result.r_squared > 0.5
    assert result.warnings == []


def test_logistic_recovers_known_log_odds_and_odds_ratios():
    X, rng = synthetic(6000, seed=2)
    true = np.array([0.03, 1.2, -0.7, 0.0])
    logit = -1.5 + X @ true
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-logit))).astype(float)
    result = analysis.logistic(X, y, FACTORS, outcome="churn")
    effects = {e.factor.key: e for e in result.effects}
    for key, value in zip(("frt", "sla", "kb", "noise"), true, strict=True):
        assert effects[key].ci_low <= value <= effects[key].ci_high, (key, effects[key])
    assert effects["sla"].odds_ratio == pytest.approx(np.exp(1.2), rel=0.15)
    assert effects["sla"].p_value < 1e-6 and effects["noise"].p_value > 0.01


def test_focus_areas_are_significant_high_impact_factors_whose_harmful_side_scores_low():
    X, rng = synthetic(1500, seed=3)
    y = 8 + X @ np.array([-0.01, -3.0, 0.5, 0.0]) + rng.normal(0, 1.0, len(X))
    result = analysis.ols(X, y, FACTORS, outcome="nps")
    scores = list(y)
    analysis.add_focus_areas(result, X, FACTORS, scores, lambda values: float(np.mean(values)),
                             higher_is_better=True)
    focus = [e.factor.key for e in result.focus_areas]
    assert focus[0] == "sla"
    sla = next(e for e in result.effects if e.factor.key == "sla")
    assert sla.harmful_n == int(X[:, 1].sum()) and sla.performance < result.baseline_performance
    assert "noise" not in focus


def test_small_samples_warn_and_impossible_designs_say_why():
    X, rng = synthetic(25, seed=4)
    y = 8 - 2 * X[:, 1] + rng.normal(0, 1, 25)
    result = analysis.ols(X, y, FACTORS, outcome="nps")
    assert any("Small sample: 25 rows" in w for w in result.warnings)
    with pytest.raises(analysis.NoData, match="no rows"):
        analysis.ols(np.zeros((0, 4)), np.zeros(0), FACTORS, outcome="nps")
    with pytest.raises(analysis.NoData, match="every customer has the same outcome"):
        analysis.logistic(X, np.zeros(25), FACTORS, outcome="churn")
    with pytest.raises(analysis.NoData, match="no factor varies"):
        analysis.ols(np.ones((40, 4)), rng.normal(size=40), FACTORS, outcome="nps")


def test_constant_rare_and_collinear_factors_are_dropped_with_a_reason():
    X, rng = synthetic(300, seed=5)
    X = np.column_stack([X, X[:, 1], np.zeros(300), np.r_[np.ones(3), np.zeros(297)]])
    factors = [*FACTORS, Factor("sla_copy", "SLA copy"), Factor("never", "Never happens"), Factor("rare", "Rare")]
    result = analysis.ols(X, 7 - X[:, 1] + rng.normal(0, 1, 300), factors, outcome="csat")
    assert {e.factor.key for e in result.effects} == {"frt", "sla", "kb", "noise"}
    assert result.dropped == ["SLA copy: determined by other factors", "Never happens: the same for everyone",
                              "Rare: fewer than 5 on one side"]
