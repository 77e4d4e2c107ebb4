"""Huge coefficients: "not available" sentinels (1e16, 1e308) and the trivial bound.

An option that can never fit (its cost alone, with every other unit at its cheapest, breaks a
budget) is removed before any solver sees it, so every backend solves such an instance
correctly; a huge coefficient that could fit is refused by the MIP backends with a one-line
message naming the row. Every bound is capped by the trivial bound, the sum of every unit's
best value. Before, HiGHS raised "HiGHS rejected the model", OR-Tools gave a garbled message
and pyomo said "feasible" at 7.5 with bound 30 where the optimum is 14.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.registry import BACKENDS, available_solvers, get_backend
from engine.solve import solve
from formulations.errors import UsageError
from formulations.instance import Instance
from formulations.instance_file import load_instance
from tests.conftest import INSTANCES

ALL = sorted(BACKENDS)


def with_sentinels(sentinel: float) -> Instance:
    """The demo (optimum 14, budget 25) with a fourth option "vip" of value 30 and cost
    ``sentinel`` for every user: never affordable."""
    demo = load_instance(INSTANCES / "demo")
    n, m = demo.n_units, demo.max_options
    value = np.concatenate([demo.value.reshape(n, m), np.full((n, 1), 30.0)], axis=1)
    costs = np.concatenate([demo.costs.reshape(1, n, m), np.full((1, n, 1), sentinel)], axis=2)
    labels = (*demo.option_labels, "vip")
    return demo.replace(
        value=value.reshape(-1), costs=costs.reshape(1, -1),
        offsets=np.arange(0, n * (m + 1) + 1, m + 1, dtype=np.int64),
        option_codes=np.tile(np.arange(m + 1, dtype=np.int32), n), option_labels=labels,
    )


@pytest.mark.parametrize("sentinel", [1e16, 1e308])
@pytest.mark.parametrize("solver", ALL)
def test_an_option_that_can_never_fit_is_removed(solver: str, sentinel: float) -> None:
    if solver not in available_solvers():
        pytest.skip(f"{solver} is not installed")
    inst = with_sentinels(sentinel)
    res = solve(inst, solver)
    if get_backend(solver).capabilities.exact or solver == "dual":
        assert res.status == "optimal", res
        assert res.objective == pytest.approx(14.0)
    else:
        assert res.status == "feasible" and res.objective is not None
        assert res.objective <= 14.0 + 1e-9
    assert res.assignment is not None and res.assignment.shape == (inst.n_units,)
    # the assignment indexes the instance as given (the removed options included)
    assert int(res.assignment.max()) < inst.max_options - 1
    if res.bound is not None:
        assert 14.0 - 1e-9 <= res.bound <= 5 * 6.0 + 1e-9  # capped by the best values


@pytest.mark.parametrize("solver", ["highs", "ortools", "pyomo"])
def test_a_huge_cost_that_could_fit_is_refused_naming_the_row(solver: str) -> None:
    inst = with_sentinels(1e16).with_limits([1e17])
    with pytest.raises(UsageError) as e:
        solve(inst, solver)
    text = str(e.value)
    assert "\n" not in text
    assert "u1" in text and "vip" in text and "cash" in text


def test_the_dual_solves_a_huge_cost_that_could_fit() -> None:
    inst = with_sentinels(1e16).with_limits([1e17])
    res = solve(inst, "dual")
    assert res.status == "optimal" and res.objective == pytest.approx(5 * 30.0)


def test_every_bound_is_capped_by_the_sum_of_the_best_values(monkeypatch) -> None:
    from engine.finalize import build_result

    inst = load_instance(INSTANCES / "demo")
    a = np.zeros(inst.n_units, dtype=np.int64)
    res = build_result(inst, solver="x", assignment=a, bound=1e6)
    assert res.bound == pytest.approx(4.0 + 5.0 + 1.5 + 6.0 + 3.0)
