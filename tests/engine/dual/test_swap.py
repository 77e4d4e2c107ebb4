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
