"""The per-chunk kernels against direct enumeration."""

from __future__ import annotations

import numpy as np
import pytest

from engine.dual.kernels import (
    increments_above,
    increments_between,
    lagrangian_choice,
    upper_hulls,
)


def _random(seed: int, n: int = 300, m: int = 5, ragged: bool = False, integral: bool = False):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, m))
    c = rng.uniform(0, 3, size=(n, m))
    if integral:
        v, c = np.round(v * 2) / 2, np.round(c)
    if ragged:
        v[rng.random((n, m)) < 0.3] = -np.inf
        v[:, 0] = rng.normal(size=n)
    return v, c


@pytest.mark.parametrize("seed", range(6))
def test_hull_choice_is_the_lagrangian_argmax(seed: int) -> None:
    v, c = _random(seed, ragged=seed % 2 == 1, integral=seed % 3 == 0)
    h = upper_hulls(v, c)
    rows = np.arange(v.shape[0])
    for lam in [0.0, 0.05, 0.3, 1.0, 2.5, 100.0]:
        score = v - lam * c
        chosen = h.choice_at(lam)
        assert np.allclose(score[rows, chosen], score.max(axis=1))
        lc = lagrangian_choice(v, c, lam)
        assert lc.lagrangian == pytest.approx(float(score.max(axis=1).sum()), rel=1e-12)
    real = h.efficiency[np.isfinite(h.efficiency)]
    assert np.all(real > 0)
    for r in h.efficiency:
        f = r[np.isfinite(r)]
        assert np.all(np.diff(f) < 0)


def test_unsorted_columns_and_equal_costs() -> None:
    v = np.array([[3.0, 1.0, 2.0, 2.5], [1.0, 1.0, 0.5, 4.0]])
    c = np.array([[2.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 3.0]])
    h = upper_hulls(v, c)
    # unit 0: cheapest (c=0, v=1), then (1, 2.5) (dominates (1, 2)), then (2, 3)
    assert h.choice_at(100.0).tolist()[0] == 1
    assert h.choice_at(0.0).tolist() == [0, 3]
    assert h.start_value.tolist() == [1.0, 0.5]


def test_breakpoint_sums_match_the_choice() -> None:
    v, c = _random(7)
    h = upper_hulls(v, c)
    t = np.array([0.0, 0.1, 0.5, 1.0, 3.0])
    s = increments_above(h, t)
    rows = np.arange(v.shape[0])
    for i, lam in enumerate(t):
        ch = h.choice_at(lam)
        assert h.start_cost.sum() + s.cost[i] == pytest.approx(c[rows, ch].sum(), rel=1e-12)
        assert h.start_value.sum() + s.value[i] == pytest.approx(v[rows, ch].sum(), rel=1e-12)
    mid = increments_between(h, 0.1, 0.5)
    assert mid.efficiency.size == s.count[1] - s.count[2]
    assert np.all((mid.efficiency > 0.1) & (mid.efficiency <= 0.5))


def test_tie_modes_bracket_the_spend() -> None:
    v = np.array([[0.0, 1.0], [0.0, 2.0]])
    c = np.array([[0.0, 1.0], [0.0, 2.0]])
    low = lagrangian_choice(v, c, 1.0, tie="low")
    high = lagrangian_choice(v, c, 1.0, tie="high")
    assert low.spend.tolist() == [0.0] and high.spend.tolist() == [3.0]


@pytest.mark.parametrize("seed", range(4))
def test_reduced_costs_and_second_gap_against_enumeration(seed: int) -> None:
    from engine.dual.arrays import DualArrays
    from engine.dual.core import reduced_costs, second_gap, second_gap_of

    rng = np.random.default_rng(seed)
    n, m, k = 20_000, 1 + seed, 2  # more rows than one block; one column too
    v, _ = _random(seed, n=n, m=m, ragged=seed % 2 == 1 and m > 1, integral=seed == 2)
    costs = np.round(rng.uniform(0, 3, (k, n, m)), 1)
    valid = None if seed % 2 == 0 or m == 1 else v > -np.inf
    arr = DualArrays(value=v, costs=costs, valid=valid, limits=np.ones(k),
                     row_names=("a", "b"), n_budgets=k, null_column=None)
    lam = rng.uniform(0, 1, k)
    s = v - np.tensordot(lam, costs, axes=1)
    if valid is not None:
        s = np.where(valid, s, -np.inf)
    d = reduced_costs(arr, lam)
    assert np.array_equal(d, s - s.max(axis=1, keepdims=True))
    g = second_gap(arr, lam)
    ordered = np.sort(s, axis=1)
    expect = np.full(n, np.inf) if m < 2 else ordered[:, -1] - ordered[:, -2]
    assert np.array_equal(g, expect)
    # from the reduced costs: the same bits without a second pass over the data
    assert g.tobytes() == second_gap_of(d).tobytes()
