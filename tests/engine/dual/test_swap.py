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
