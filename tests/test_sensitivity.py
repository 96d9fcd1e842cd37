"""Sensitivity of the ranking to the weights: reproducible, exact at zero perturbation, parents keep weight."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cluster_credit_cli.model.config import load_model
from cluster_credit_cli.weights.sensitivity import _competition_ranks, perturbed_weights, rank_sensitivity


@pytest.fixture(scope="module")
def model():
    return load_model()


def random_scores(model, n, seed=0):
    rng = np.random.default_rng(seed)
    leaves = model.leaves()
    data = rng.choice([0, 30, 60, 80, 100], size=(n, len(leaves)))
    return pd.DataFrame(data, index=[f"E{i:04d}" for i in range(n)], columns=leaves, dtype=float)


def test_zero_perturbation_is_the_model(model):
    leaves, w = perturbed_weights(model, 5, spread=0.0, seed=1)
    assert w == pytest.approx(np.tile([model.effective[k] for k in leaves], (5, 1)))
    scores = random_scores(model, 40)
    res = rank_sensitivity(model, scores, draws=50, spread=0.0, seed=3)
    t = res.table
    assert (t["rank_p05"] == t["rank"]).all() and (t["rank_p95"] == t["rank"]).all()
    assert (t["p_keep_grade"] == 1.0).all()
    assert t["top_dimension"].isna().all()
    # the baseline rank is the competition rank of the displayed total
    expected = t["total"].rank(method="min", ascending=False).astype(int)
    assert list(t["rank"]) == list(expected)


def test_fixed_seed_is_reproducible(model):
    scores = random_scores(model, 60)
    a = rank_sensitivity(model, scores, draws=200, seed=42).table
    b = rank_sensitivity(model, scores, draws=200, seed=42).table
    pd.testing.assert_frame_equal(a, b)
    c = rank_sensitivity(model, scores, draws=200, seed=43).table
    assert not a["p_keep_grade"].equals(c["p_keep_grade"]) or not a["rank_p95"].equals(c["rank_p95"])


def test_each_parent_keeps_its_weight(model):
    leaves, w = perturbed_weights(model, 300, spread=0.2, seed=7)
    col = {k: i for i, k in enumerate(leaves)}
    base = [col[k] for k in model.leaves("base")]
    bonus = [col[k] for k in model.leaves("bonus")]
    assert w[:, base].sum(axis=1) == pytest.approx(np.full(300, model.base_total))
    assert w[:, bonus].sum(axis=1) == pytest.approx(np.full(300, 0.10))
    # a single child always carries its parent's weight (S4 under D32), the siblings' split moves
    for key, node in model.nodes.items():
        if not node.is_leaf and node.parent is not None:
            under = [col[k] for k in leaves if key in model.ancestors(k)]
            if len(node.children) == 1 and model.nodes[node.children[0]].is_leaf:
                sub = w[:, under].sum(axis=1)
                parent_share = sub / w[:, [col[k] for k in leaves if node.parent in model.ancestors(k)]].sum(axis=1)
                assert np.ptp(parent_share) > 0  # the parent itself moves among its own siblings
    v1, v2 = w[:, col["V1"]], w[:, col["V2"]]
    assert np.ptp(v1 / (v1 + v2)) > 0.05  # siblings' split varies
    ratio = (v1 / (v1 + v2))
    assert ratio.min() >= 0.8 / (0.8 + 1.2) - 1e-12 and ratio.max() <= 1.2 / (1.2 + 0.8) + 1e-12


def test_dimension_that_moves_an_enterprise(model):
    leaves = model.leaves()
    rows = {}
    for i in range(20):
        rows[f"E{i:02d}"] = {k: 60.0 + i for k in leaves}
    # one enterprise is strong in competitiveness (D2) leaves and weak elsewhere
    rows["X"] = {k: (100.0 if "D2" in model.ancestors(k) else 40.0) for k in leaves}
    scores = pd.DataFrame.from_dict(rows, orient="index")[leaves]
    t = rank_sensitivity(model, scores, draws=300, seed=5).table.set_index("code")
    assert t.loc["X", "top_dimension"] == "D2"
    assert t.loc["X", "rank_p05"] <= t.loc["X", "rank"] <= t.loc["X", "rank_p95"]


def test_unrankable_enterprises_get_no_interval(model):
    scores = random_scores(model, 10)
    mask = np.array([True] * 8 + [False] * 2)
    t = rank_sensitivity(model, scores, draws=20, seed=1, rankable=mask).table
    assert t["rank"].isna().sum() == 2 and t["rank"].max() <= 8
    assert t["p_keep_grade"].notna().all()


def test_competition_ranks_share_ties():
    r = _competition_ranks(np.array([[90.0], [80.0], [80.0], [70.0]]))
    assert list(r[:, 0]) == [1, 2, 2, 4]


def test_bad_arguments(model):
    with pytest.raises(ValueError):
        perturbed_weights(model, 0)
    with pytest.raises(ValueError):
        perturbed_weights(model, 10, spread=1.5)
