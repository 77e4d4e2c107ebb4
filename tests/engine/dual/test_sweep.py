"""budget_sweep and lp_frontier: equal to fresh solves and to HiGHS's LP."""

from __future__ import annotations

import numpy as np
import pytest

from engine import solve
from engine.backends.highs import solve_lp_relaxation
from engine.dual.sweep import budget_sweep, lp_frontier
from formulations.errors import UsageError
from formulations.synthetic import synthetic_instance


def test_sweep_points_equal_fresh_dual_solves() -> None:
    inst = synthetic_instance(2000, 5, seed=4)
    limits = np.linspace(0.1, 1.6, 6) * inst.limits[0]
    for mode in ("hull", "full"):
        results = budget_sweep(inst, limits, options={"fill": mode})
        assert len(results) == limits.size
        for b, r in zip(limits, results, strict=True):
            fresh = solve(inst.with_limits([b]), "dual")
            assert r.bound == pytest.approx(fresh.bound, rel=1e-9)
            assert r.multipliers["cash"] == pytest.approx(fresh.multipliers["cash"], rel=1e-12)
            assert r.limits["cash"] == pytest.approx(b)
            assert r.gap is not None and r.gap <= max(fresh.gap or 0.0, 1e-3)
            if mode == "full":
                assert r.objective == pytest.approx(fresh.objective, rel=1e-12)


def test_sweep_monotone_and_unsorted_input_order() -> None:
    inst = synthetic_instance(1500, 5, seed=1)
    limits = np.array([0.8, 0.2, 0.5, 1.2, 0.35]) * inst.limits[0]
    res = budget_sweep(inst, limits)
    order = np.argsort(limits)
    bounds = np.array([res[i].bound for i in order])
    lams = np.array([res[i].multipliers["cash"] for i in order])
    assert np.all(np.diff(bounds) >= -1e-9)
    assert np.all(np.diff(lams) <= 1e-15)
    for b, r in zip(limits, res, strict=True):
        assert r.usage["cash"] <= b * (1 + 1e-9)


def test_sweep_infeasible_point() -> None:
    inst = synthetic_instance(100, 4, seed=0)
    res = budget_sweep(inst, np.array([-1.0, inst.limits[0]]))
    assert res[0].status == "infeasible" and res[1].status in ("optimal", "feasible")


def test_lp_frontier_matches_highs() -> None:
    inst = synthetic_instance(800, 5, seed=2)
    fr = lp_frontier(inst)
    assert np.all(np.diff(fr.budget) > 0) and np.all(np.diff(fr.lam) <= 0)
    assert np.all(np.diff(fr.value) > 0)
    for f in (0.05, 0.3, 0.7):
        b = f * inst.limits[0] / 0.3
        lp = solve_lp_relaxation(inst.with_limits([b])).bound
        assert float(fr.value_at(b)) == pytest.approx(lp, rel=1e-9)
    assert np.isnan(fr.value_at(fr.budget[0] - 1.0))
    assert float(fr.slope_at(fr.budget[-1] + 1.0)) == 0.0


def test_multi_budget_sweep_and_bad_shapes() -> None:
    inst = synthetic_instance(500, 4, 2, seed=0)
    res = budget_sweep(inst, np.array([[0.6, 0.6], [1.0, 1.0]]) * inst.limits)
    assert all(r.status in ("optimal", "feasible") for r in res)
    assert res[1].bound >= res[0].objective
    with pytest.raises(UsageError):
        budget_sweep(inst, np.array([1.0, 2.0]))
    with pytest.raises(UsageError):
        lp_frontier(inst)
