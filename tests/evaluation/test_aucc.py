"""AUCC: a hand example, a per-unit loop written from papers.md §0.6, random ~ 0.5."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.aucc import aucc, roi_score
from formulations.errors import UsageError

# Hand example, listed in rank order (score 6..1), n_t = n_c = 3:
#   rank: 0    1    2    3    4    5
#   t:    T    C    T    C    T    C
#   y:    1    0    0    1    1    0
#   c:    3    1    2    1    2    0
# Δreward = (1+0+1)/3 - (0+1+0)/3 = 1/3; Δcost = (3+2+2)/3 - (1+1+0)/3 = 7/3 - 2/3 = 5/3.
# quantile 3: thresholds j Δcost/3 = 5/9 (j=1), 10/9 (j=2); incremental cost C_t/3 - C_c/3:
#   rank 0: 3/3 - 0 = 1 >= 5/9 -> record R = 1/3 - 0 = 1/3 (j -> 2)
#   rank 1: 1 - 1/3 = 2/3 < 10/9
#   rank 2: 5/3 - 1/3 = 4/3 >= 10/9 -> record R = 1/3 - 0 = 1/3 (j -> 3 = quantile: no more)
#   rank 5 (the last): record C = 7/3 - 2/3 = 5/3, R = 2/3 - 1/3 = 1/3
# AUCC = (0 + 1/3 + 1/3 + 1/3) / (Δreward (3 + 1)) = 1 / (4/3) = 3/4
T = np.array([True, False, True, False, True, False])
Y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
C = np.array([3.0, 1.0, 2.0, 1.0, 2.0, 0.0])
S = np.array([6.0, 5.0, 4.0, 3.0, 2.0, 1.0])


def test_hand_example() -> None:
    perm = np.array([3, 0, 5, 1, 4, 2])  # the input order must not matter, only the scores
    r = aucc(T[perm], Y[perm], C[perm], S[perm], quantile=3)
    assert r.aucc == pytest.approx(0.75)
    assert r.delta_cost == pytest.approx([0.0, 1.0, 4.0 / 3.0, 5.0 / 3.0])
    assert r.delta_reward == pytest.approx([0.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0])
    assert r.n_treated.tolist() == [0, 1, 2, 3] and r.n_control.tolist() == [0, 0, 1, 3]
    assert r.total_delta_cost == pytest.approx(5.0 / 3.0)
    assert r.total_delta_reward == pytest.approx(1.0 / 3.0)
    assert list(r.to_frame().columns) == ["delta_cost", "delta_reward", "n_treated",
                                          "n_control"]


def _loop_aucc(t, yr, yc, score, quantile):
    """papers.md §0.6 step by step: one unit at a time, at most one record per unit."""
    o = np.argsort(-score, kind="stable")
    t, yr, yc = t[o], yr[o], yc[o]
    n_t, n_c, n = t.sum(), (~t).sum(), t.size
    d_reward = yr[t].mean() - yr[~t].mean()
    d_cost = yc[t].mean() - yc[~t].mean()
    ct = rt = cc = rc = 0.0
    j, recorded = 1, [0.0]
    for i in range(n):
        if t[i]:
            ct, rt = ct + yc[i], rt + yr[i]
        else:
            cc, rc = cc + yc[i], rc + yr[i]
        if i == n - 1 or (j < quantile and ct / n_t - cc / n_c >= d_cost / quantile * j):
            recorded.append(rt / n_t - rc / n_c)
            j += 1
    return np.sum(np.array(recorded)) / (d_reward * (quantile + 1)), len(recorded)


@pytest.mark.parametrize("seed", range(12))
def test_equals_the_per_unit_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 1500))
    q = int(rng.integers(1, 250))
    t = rng.random(n) < 0.6
    t[:2] = [True, False]
    yc = rng.poisson(1.0, n) * (1.0 + t * rng.random(n))
    if seed % 3 == 0:  # costs of either sign: the incremental cost curve falls back and forth
        yc = rng.normal(size=n)
    yr = rng.binomial(1, 0.2 + 0.2 * t).astype(float)
    score = rng.normal(size=n)
    r = aucc(t, yr, yc, score, quantile=q)
    ref, points = _loop_aucc(t, yr, yc, score, q)
    assert r.aucc == pytest.approx(ref, rel=1e-12, abs=1e-12)
    assert r.delta_reward.size == points


def test_random_ranking_is_about_one_half_and_a_good_one_above() -> None:
    rng = np.random.default_rng(0)
    n = 200_000
    t = rng.random(n) < 0.85
    roi = rng.uniform(0, 1, n)  # true reward per unit of cost of the treatment
    cost = rng.binomial(1, 0.3 + 0.3 * t).astype(float)
    reward = rng.binomial(1, np.clip(0.05 + t * roi * 0.3, 0, 1)).astype(float)
    random = np.array([aucc(t, reward, cost, rng.normal(size=n)).aucc for _ in range(5)])
    assert np.all(np.abs(random - 0.5) < 0.03)
    good = aucc(t, reward, cost, roi).aucc
    assert good > 0.6
    assert aucc(t, reward, cost, -roi).aucc < 0.4


def test_roi_score_guards_small_cost_differences() -> None:
    s = roi_score(np.array([1.0, 2.0, 3.0]), np.array([0.5, 1e-9, -1e-8]))
    assert s.tolist() == [2.0, 2.0e6, 3.0e6]


def test_zero_overall_uplift_gives_nan() -> None:
    r = aucc(np.array([True, False, True, False]), np.ones(4), np.ones(4), np.arange(4.0))
    assert np.isnan(r.aucc)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.array([True, True]), np.ones(2), np.ones(2), np.ones(2)), "both treated and control"),
        ((np.array([0, 2]), np.ones(2), np.ones(2), np.ones(2)), "binary treatment"),
        ((np.array([0, 1]), np.ones(3), np.ones(2), np.ones(2)), "reward: expected 2 entries"),
        ((np.array([0, 1]), np.ones(2), np.ones(2), np.array([0.0, np.nan])), "score: expected"),
    ],
)
def test_bad_input(args: tuple, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        aucc(*args)
    if match == "binary treatment":
        with pytest.raises(UsageError, match="quantile"):
            aucc(np.array([0, 1]), np.ones(2), np.ones(2), np.ones(2), quantile=0)
