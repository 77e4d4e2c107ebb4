"""The dual solver: feasible, within its own gap, bound >= optimum; the one-budget theory."""

from __future__ import annotations

import numpy as np
import pytest

from engine import solve
from engine.backends.highs import solve_lp_relaxation
from engine.result import is_proven_optimal
from formulations.assignment import evaluate
from formulations.synthetic import synthetic_instance
from tests.engine.dual.helpers import brute_force, random_instance

CASES = [
    dict(k=1), dict(k=2), dict(k=3, m=4), dict(k=1, capacity=True),
    dict(k=2, capacity=True), dict(k=1, choose="at-most-one"),
    dict(k=2, choose="at-most-one", capacity=True), dict(k=1, ragged=True),
    dict(k=2, ragged=True), dict(k=1, tight=0.05), dict(k=1, tight=2.0),
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", range(3))
def test_dual_feasible_and_bound_valid(case: int, seed: int) -> None:
    inst = random_instance(seed * 31 + case, n=7, **CASES[case])  # type: ignore[arg-type]
    opt = brute_force(inst)
    r = solve(inst, "dual")
    if opt is None:
        assert r.status == "infeasible"
        return
    assert r.status in ("optimal", "feasible")
    assert r.assignment is not None and evaluate(inst, r.assignment).feasible
    assert r.objective is not None and r.bound is not None
    assert r.objective <= opt + 1e-9
    assert r.bound >= opt - 1e-7 * max(1.0, abs(opt))
    # within its own certificate
    assert opt - r.objective <= r.bound - r.objective + 1e-9
    if r.status == "optimal":
        assert is_proven_optimal(r.objective, r.bound)
        assert r.objective == pytest.approx(opt, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_one_budget_lp_equals_highs_relaxation(seed: int) -> None:
    inst = synthetic_instance(400, 5, seed=seed, budget_fraction=[0.05, 0.2, 0.5, 0.9][seed])
    r = solve(inst, "dual")
    lp = solve_lp_relaxation(inst)
    assert lp.bound is not None and r.bound is not None
    assert r.bound == pytest.approx(lp.bound, rel=1e-9)
    assert r.detail["lp_value"] == pytest.approx(lp.bound, rel=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_one_budget_within_max_increment_of_optimum(seed: int) -> None:
    inst = synthetic_instance(120, 4, seed=seed)
    r = solve(inst, "dual")
    opt = solve(inst, "highs", time_limit=60)
    assert opt.status == "optimal" and opt.objective is not None and r.objective is not None
    v = inst.value.reshape(inst.n_units, -1)
    max_increment = float((v.max(axis=1) - v.min(axis=1)).max())
    assert opt.objective - r.objective <= max_increment + 1e-9
    assert r.bound is not None and r.bound >= opt.objective - 1e-7


def test_selection_methods_agree() -> None:
    inst = synthetic_instance(5000, 5, seed=3)
    a = solve(inst, "dual", options={"selection": "bracket"})
    b = solve(inst, "dual", options={"selection": "sort"})
    assert a.bound == pytest.approx(b.bound, rel=1e-12)
    assert a.multipliers == b.multipliers
    assert a.objective == pytest.approx(b.objective, rel=1e-12)


def test_multi_budget_close_to_lp_and_optimum() -> None:
    inst = synthetic_instance(1500, 6, 3, seed=1)
    r = solve(inst, "dual")
    lp = solve_lp_relaxation(inst)
    assert r.bound is not None and lp.bound is not None and r.gap is not None
    assert r.bound >= lp.bound - 1e-9 * abs(lp.bound)
    assert r.bound <= lp.bound * (1 + 1e-5)
    assert r.gap <= 1e-3
    assert set(r.multipliers) == set(inst.budget_names)


def test_start_sample_takes_every_stride_th_unit_with_scaled_limits() -> None:
    from engine.dual.arrays import dual_arrays
    from engine.dual.multi_budget import (
        START_UNITS,
        row_alone_multipliers,
        start_sample,
        start_stride,
    )

    assert start_stride(2 * START_UNITS - 1) == 1 and start_stride(2 * START_UNITS) == 2
    inst = synthetic_instance(60_000, 5, 3, seed=4, choose="at-most-one")
    arr = dual_arrays(inst)
    sub = start_sample(arr, 7)
    assert sub.n_units == len(range(0, 60_000, 7))
    assert np.array_equal(sub.value, arr.value[::7]) and sub.value.flags.c_contiguous
    assert np.array_equal(sub.costs, arr.costs[:, ::7])
    np.testing.assert_allclose(sub.limits, arr.limits * sub.n_units / 60_000, rtol=1e-15)
    assert sub.null_column == arr.null_column
    # a start, not the answer: near every row's own multiplier on all the units
    exact, sampled = row_alone_multipliers(arr), row_alone_multipliers(sub)
    np.testing.assert_allclose(sampled, exact, rtol=0.05)
    assert not np.array_equal(sampled, exact)


def test_infeasible_instance() -> None:
    inst = synthetic_instance(50, 4, seed=0)
    v = inst.value.reshape(50, 4)
    c = inst.costs.reshape(1, 50, 4).copy()
    c[:, :, 0] = 1.0  # the control now costs 1 per unit; limit below 50 is infeasible
    from formulations.instance import from_dense

    bad = from_dense(v, c, [10.0])
    assert solve(bad, "dual").status == "infeasible"
    assert solve(bad, "dual-exact").status == "infeasible"


def test_dask_option_delegates() -> None:
    import importlib.util

    inst = synthetic_instance(20, 3, seed=0)
    if importlib.util.find_spec("engine.distributed.dask_dual") is None:
        with pytest.raises(ModuleNotFoundError):
            solve(inst, "dual", options={"backend": "dask"})
    from formulations.errors import UsageError

    with pytest.raises(UsageError):
        solve(inst, "dual", options={"backend": "spark"})


def test_no_budget_rows() -> None:
    from formulations.instance import from_dense

    v = np.array([[1.0, 3.0], [2.0, 0.5]])
    inst = from_dense(v, np.zeros((0, 2, 2)), [])
    r = solve(inst, "dual")
    assert r.status == "optimal" and r.objective == pytest.approx(5.0)
