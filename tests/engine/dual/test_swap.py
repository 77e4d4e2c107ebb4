"""1-swaps never break the budget and never lose value."""

from __future__ import annotations

import numpy as np

from engine.dual.arrays import dual_arrays
from engine.dual.improve import row_slack
from engine.dual.one_budget import solve_one_budget
from engine.dual.swap import one_swap
from formulations.synthetic import synthetic_instance


def test_swap_improves_and_stays_feasible() -> None:
    inst = synthetic_instance(3000, 5, seed=9)
    arr = dual_arrays(inst)
    s = solve_one_budget(arr)
    assert s.cols is not None and s.bound is not None and s.objective is not None
    cols = one_swap(arr, s.cols, s.lam, window=s.bound - s.objective)
    assert row_slack(arr, cols)[0] >= 0
    assert arr.objective(cols) >= s.objective
    assert np.all((cols >= 0) & (cols < 5))


def test_smallest_stable_is_the_prefix_of_the_stable_argsort() -> None:
    from engine.dual.prefix import smallest_stable

    rng = np.random.default_rng(0)
    for size, k in [(1000, 10), (1000, 999), (1000, 1000), (1000, 5000), (50, 0), (300, 1)]:
        keys = np.round(rng.normal(size=size), 1)  # many ties
        if size == 1000 and k == 10:
            keys[::7] = np.nan
        expect = np.argsort(keys, kind="stable")[:k]
        assert np.array_equal(smallest_stable(keys, k), expect)


def test_best_moves_rank_every_move_as_a_stable_sort_does() -> None:
    from engine.dual.swap import best_moves
    from tests.engine.dual.helpers import random_instance

    for seed in range(4):
        inst = random_instance(seed, n=40, m=4, k=2, ragged=seed % 2 == 1)
        arr = dual_arrays(inst)
        rng = np.random.default_rng(seed)
        valid = np.ones(arr.value.shape, bool) if arr.valid is None else arr.valid
        cols = np.array([rng.choice(np.flatnonzero(v)) for v in valid])
        w = np.array([0.7, 0.2])
        moves = [(u, j) for u in range(40) for j in range(arr.value.shape[1])
                 if valid[u, j] and j != cols[u]]
        dv = np.array([arr.value[u, j] - arr.value[u, cols[u]] for u, j in moves])
        wc = np.array([sum(w[k] * (arr.costs[k, u, j] - arr.costs[k, u, cols[u]])
                           for k in range(2)) for u, j in moves])
        ups = np.flatnonzero(dv > 1e-12)
        ups = ups[np.argsort(-dv[ups], kind="stable")][:7]
        downs = np.flatnonzero(wc < 0)
        loss = np.maximum(-dv[downs], 0.0) / -wc[downs]
        downs = downs[np.argsort(loss, kind="stable")][:9]
        up, down = best_moves(arr, cols, w, 7, 9)
        assert [moves[i] for i in ups] == list(zip(up[0], up[1], strict=True))
        assert [moves[i] for i in downs] == list(zip(down[0], down[1], strict=True))
        np.testing.assert_allclose(up[2], dv[ups])
        np.testing.assert_allclose(down[4], np.sort(loss)[:9], rtol=1e-12)


def test_pair_swap_keeps_every_row_and_never_loses_value() -> None:
    from engine.dual.backend import solve_dual_numpy
    from engine.dual.options import DualOptions
    from engine.dual.swap import pair_swap

    for choose in ("exactly-one", "at-most-one"):
        inst = synthetic_instance(20_000, 5, 3, seed=2, choose=choose)
        arr = dual_arrays(inst)
        res = solve_dual_numpy(inst, time_limit=None, solver="dual",
                               options=DualOptions(polish=False, gap=1e-3))
        assert res.assignment is not None and res.bound is not None
        cols = arr.columns(res.assignment)
        lam = np.array([res.multipliers[b.name] for b in inst.budgets])
        start = arr.objective(cols)
        out = pair_swap(arr, cols, lam, time_limit=5.0)
        assert np.all(row_slack(arr, out) >= 0)
        assert start < arr.objective(out) <= res.bound
