"""Entropy-weight method: hand computations and the stated conventions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cluster_credit_cli.weights.entropy import entropy_weights


def naive_entropy_weights(x):
    """The failure mode some libraries have: p·ln p computed as is (NaN at p = 0), NaN entropy -> 0."""
    x = np.asarray(x, float)
    p = x / x.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = -(p * np.log(p)).sum(axis=0) / np.log(x.shape[0])
    e = np.nan_to_num(e, nan=0.0)
    d = 1 - e
    return d / d.sum()


def test_hand_computed_two_indicators():
    # column a: 20, 40, 40 -> p = .2 .4 .4 ; column b: 50, 50, 100 -> p = .25 .25 .5
    x = [[20, 50], [40, 50], [40, 100]]
    ea = -(0.2 * math.log(0.2) + 2 * 0.4 * math.log(0.4)) / math.log(3)
    eb = -(2 * 0.25 * math.log(0.25) + 0.5 * math.log(0.5)) / math.log(3)
    da, db = 1 - ea, 1 - eb
    res = entropy_weights(x, ["a", "b"])
    assert res.entropy == pytest.approx([ea, eb])
    assert res.weights == pytest.approx([da / (da + db), db / (da + db)])
    assert res.weights.sum() == pytest.approx(1.0)
    assert not res.warnings


def test_zero_counts_as_zero_log_zero():
    # 0·ln 0 = 0: column 0, 50, 50 has p = 0, .5, .5 and e = ln 2 / ln 3
    res = entropy_weights([[0, 10], [50, 20], [50, 30]], ["z", "y"])
    assert res.entropy[0] == pytest.approx(math.log(2) / math.log(3))
    assert np.isfinite(res.weights).all()


def test_single_zero_does_not_take_the_largest_weight():
    # "z" is nearly constant except one enterprise scoring 0; "spread" varies across the whole range.
    x = np.array([[0, 5, 60], [90, 10, 70], [90, 30, 80], [90, 60, 90], [90, 100, 100], [90, 100, 95]], float)
    names = ["z", "spread", "mild"]
    naive = naive_entropy_weights(x)
    assert int(np.argmax(naive)) == 0 and naive[0] > 0.8  # the failure: NaN entropy read as 0, d = 1
    res = entropy_weights(x, names)
    assert int(np.argmax(res.weights)) == 1  # the indicator that really varies leads
    assert res.weights[0] < res.weights[1]
    assert 0.2 < res.weights[0] < 0.5  # a real but not dominant share: one enterprise in six scored 0
    # and z's entropy is the proper one: five equal shares of 1/5, one zero -> ln 5 / ln 6
    assert res.entropy[0] == pytest.approx(math.log(5) / math.log(6))


def test_constant_columns_have_zero_weight():
    x = [[80, 0, 10, 60], [80, 0, 20, 60], [80, 0, 60, 60]]
    res = entropy_weights(x, ["c80", "zeros", "v", "c60"])
    assert list(res.weights) == pytest.approx([0, 0, 1, 0])
    assert res.entropy[0] == 1.0 and res.entropy[1] == 1.0
    assert len(res.warnings) == 3 and "c80" in res.warnings[0]


def test_all_columns_constant_equal_weights_with_warning():
    res = entropy_weights([[80, 0, 5], [80, 0, 5]], ["a", "b", "c"])
    assert list(res.weights) == pytest.approx([1 / 3] * 3)
    assert any("等权" in w for w in res.warnings)
    assert any("equal weights" in w for w in res.warnings_en)


def test_one_enterprise_is_undefined():
    res = entropy_weights([[10, 20, 30]], ["a", "b", "c"])
    assert np.isnan(res.weights).all()
    assert "undefined" in res.warnings_en[0]
    assert res.as_dict()["a"]["weight"] is None


def test_scale_invariance_and_bad_input():
    x = np.array([[10, 20], [30, 25], [60, 90]], float)
    assert entropy_weights(x).weights == pytest.approx(entropy_weights(x * 0.5).weights)
    with pytest.raises(ValueError):
        entropy_weights([[1, -2], [3, 4]])
    with pytest.raises(ValueError):
        entropy_weights([[1, np.nan], [3, 4]])
    with pytest.raises(ValueError):
        entropy_weights([1, 2, 3])
