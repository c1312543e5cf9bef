"""Score formulas against hand-computed cases."""

from __future__ import annotations

import math

import pytest

from cx.surveys import scoring


def test_nps_with_standard_error_and_interval_by_hand():
    # 5 promoters (9, 10), 3 passives (7, 8), 2 detractors (0-6): n = 10, p = .5, d = .2
    scores = [10, 9, 9, 10, 9, 7, 8, 8, 3, 6]
    result = scoring.nps(scores)
    assert (result.promoters, result.passives, result.detractors, result.n) == (5, 3, 2, 10)
    assert result.nps == pytest.approx(30.0)
    # SE = 100 * sqrt((.5 + .2 - .3^2) / 10) = 100 * sqrt(.061) = 24.698...
    assert result.standard_error == pytest.approx(100 * math.sqrt(0.061))
    assert result.standard_error == pytest.approx(24.6982, abs=1e-4)
    assert result.ci_low == pytest.approx(30 - 1.959964 * 24.6982, abs=1e-3)
    assert result.ci_high == pytest.approx(30 + 1.959964 * 24.6982, abs=1e-3)
    assert result.small_sample


def test_nps_all_promoters_has_zero_error_and_interval_is_clamped():
    result = scoring.nps([10] * 40)
    assert result.nps == 100 and result.standard_error == 0 and result.ci_high == 100
    assert not result.small_sample


def test_csat_percent_satisfied_with_wilson_interval_by_hand():
    # 8 of 10 answers are 4 or 5
    result = scoring.csat([5, 5, 4, 4, 4, 5, 4, 5, 2, 1])
    assert result.csat == pytest.approx(80.0)
    assert result.mean == pytest.approx(3.9)
    # Wilson, z = 1.96, phat = .8, n = 10: centre = (.8 + .19208) / 1.38416 = .71674,
    # half = 1.96 * sqrt(.016 + .009604) / 1.38416 = .22659 -> [49.0, 94.3]
    assert result.ci_low == pytest.approx(49.016, abs=0.01)
    assert result.ci_high == pytest.approx(94.332, abs=0.01)


def test_wilson_interval_at_zero_and_all():
    low, high = scoring.wilson_interval(0, 20)
    assert low == 0 and high == pytest.approx(16.11, abs=0.01)
    low, high = scoring.wilson_interval(20, 20)
    assert high == 100 and low == pytest.approx(83.89, abs=0.01)


def test_ces_mean_and_percent_agree_by_hand():
    result = scoring.ces([7, 6, 5, 4, 2, 7])
    assert result.mean == pytest.approx(31 / 6)
    assert result.agree == 4 and result.agree_percent == pytest.approx(400 / 6)
    variance = sum((v - 31 / 6) ** 2 for v in [7, 6, 5, 4, 2, 7]) / 5
    assert result.ci_low == pytest.approx(31 / 6 - 1.959964 * math.sqrt(variance / 6), abs=1e-4)


def test_empty_scores_give_no_score():
    assert scoring.nps([]).nps is None and scoring.csat([]).csat is None and scoring.ces([]).mean is None


@pytest.mark.parametrize(("function", "bad"), [(scoring.nps, 11), (scoring.nps, -1), (scoring.csat, 0),
                                               (scoring.csat, 6), (scoring.ces, 8), (scoring.nps, 5.5)])
def test_out_of_range_scores_are_refused(function, bad):
    with pytest.raises(ValueError, match="scores are whole numbers"):
        function([bad])
