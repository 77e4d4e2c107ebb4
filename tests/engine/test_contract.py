"""The result contract, enforced where results are made (engine.result.SolveResult).

* ``optimal`` needs an allocation, a bound and the project's proof (gap <= 1e-9 rel / 1e-6 abs);
* a bound below the objective by more than 1e-9 max(1, |objective|) is status ``error``, with a
  message naming the solver: a solver bug or a wrong answer, never a proof;
* an allocation reported with a result passes the one feasibility check (the budgets as
  written, up to the noise of a compensated sum).

Each test here failed before the contract existed (the finalize clamp lifted a bad bound to the
objective and turned a ``time_limit`` into ``optimal``; pyomo invented a bound; greedy and the
exact solvers disagreed on the instance with limit 1000 that the cheapest allocation
overspends by 7e-7).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pytest

import engine.registry as registry
from engine.backend import Capabilities
from engine.backends.greedy import greedy_assignment
from engine.finalize import build_result
from engine.options import Options
from engine.registry import BACKENDS, available_solvers
from engine.result import SolveResult
from engine.solve import solve
from formulations.instance import Instance, from_dense
from tests.engine.test_conformance import ka_one_budget

ALL_SOLVERS = sorted(BACKENDS)


class StubBackend:
    """A backend whose bound is below its own allocation's value (as a buggy solver would)."""

    name: ClassVar[str] = "stub"
    capabilities: ClassVar[Capabilities] = Capabilities()
    options_type: ClassVar[type[Options]] = Options
    shortfall: ClassVar[float] = 1.0
    forced: ClassVar[str | None] = None

    def solve(self, instance: Instance, *, time_limit: float | None,
              options: Mapping[str, Any]) -> SolveResult:
        a = greedy_assignment(instance)
        value = float(instance.value[instance.offsets[:-1] + a].sum())
        return build_result(instance, solver=self.name, assignment=a,
                            bound=value - self.shortfall,
                            status=self.forced)  # type: ignore[arg-type]


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> type[StubBackend]:
    monkeypatch.setitem(registry.BACKENDS, "stub", (__name__, "StubBackend"))
    return StubBackend


@pytest.mark.parametrize("forced", [None, "time_limit"])
def test_a_bound_below_the_objective_is_an_error_naming_the_solver(stub, forced) -> None:
    inst, _ = ka_one_budget()
    stub.forced = forced
    res = solve(inst, "stub")
    assert res.status == "error", res
    assert "stub" in res.message and "bound" in res.message
    # the allocation and the figures stay, for the bug report
    assert res.assignment is not None and res.bound is not None
    assert res.bound < res.objective


def test_float_noise_between_bound_and_objective_is_not_an_error(stub) -> None:
    inst, _ = ka_one_budget()
    stub.forced = None
    stub.shortfall = 1e-12
    try:
        res = solve(inst, "stub")
    finally:
        stub.shortfall = 1.0
    assert res.status == "optimal", res


def test_optimal_needs_an_allocation_a_bound_and_the_proof() -> None:
    a = np.zeros(3, dtype=np.int64)
    usage, limits = {"budget": 0.0}, {"budget": 5.0}
    no_bound = SolveResult(status="optimal", solver="x", objective=1.0, assignment=a,
                           usage=usage, limits=limits)
    assert no_bound.status == "feasible"
    loose = SolveResult(status="optimal", solver="x", objective=1.0, bound=2.0, assignment=a,
                        usage=usage, limits=limits)
    assert loose.status == "feasible"
    nothing = SolveResult(status="optimal", solver="x", bound=2.0, limits=limits)
    assert nothing.status == "error" and "no allocation" in nothing.message
    proven = SolveResult(status="optimal", solver="x", objective=2.0, bound=2.0, assignment=a,
                         usage=usage, limits=limits)
    assert proven.status == "optimal"


def test_feasible_needs_an_allocation_within_the_budgets() -> None:
    a = np.zeros(3, dtype=np.int64)
    over = SolveResult(status="feasible", solver="x", objective=1.0, assignment=a,
                       usage={"budget": 5.0 + 1e-9}, limits={"budget": 5.0})
    assert over.status == "error" and "budget" in over.message and "x" in over.message
    unreported = SolveResult(status="feasible", solver="x", objective=1.0, assignment=a,
                             usage={}, limits={"budget": 5.0})
    assert unreported.status == "error"
    empty = SolveResult(status="feasible", solver="x", limits={"budget": 5.0})
    assert empty.status == "error"


def test_pyomo_reports_no_bound_it_was_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.backends.pyomo_backend as pb

    # a pyomo interface that reports no bound: the result may not claim a proof
    monkeypatch.setattr(pb, "_number", lambda x: None)
    inst, answer = ka_one_budget()
    res = solve(inst, "pyomo")
    assert res.objective == pytest.approx(answer)
    assert res.bound is None and res.status == "feasible", res


def test_pyomo_status_follows_the_proof_not_the_solver_word() -> None:
    inst, _ = ka_one_budget()
    res = solve(inst, "pyomo", options={"solver_options": {"mip_rel_gap": 0.9}})
    if res.gap is not None and res.gap > 1e-9:
        assert res.status == "feasible", res


# --- one feasible set ----------------------------------------------------------------------------


def overspent_by_7e7() -> Instance:
    """Limit 1000; the cheapest allocation spends 1000.0000007 (three units, two options)."""
    value = np.array([[1.0, 2.0], [0.5, 1.0], [0.25, 3.0]])
    cost = np.array([[333.3333336, 500.0], [333.3333334, 400.0], [333.3333337, 600.0]])
    return from_dense(value, cost, [1000.0], name="overspent_by_7e-7")


def exact_in_cents() -> tuple[Instance, float]:
    """Limit 0.3; the best allocation costs 0.1 + 0.2, 0.30000000000000004 in floats, which
    is within the budget as written (5.6e-17 above it: float noise, not an overspend)."""
    value = np.array([[0.0, 1.0], [0.0, 2.0], [0.0, 0.5]])
    cost = np.array([[0.0, 0.1], [0.0, 0.2], [0.0, 0.11]])
    return from_dense(value, cost, [0.3], name="exact_in_cents"), 3.0


@pytest.mark.parametrize("solver", ALL_SOLVERS)
def test_every_solver_says_infeasible_when_the_cheapest_allocation_overspends(solver) -> None:
    if solver not in available_solvers():
        pytest.skip(f"{solver} is not installed")
    inst = overspent_by_7e7()
    spend = float(inst.costs[0].reshape(3, 2)[:, 0].sum())
    assert spend - 1000.0 == pytest.approx(7e-7, rel=1e-3)
    if registry.get_backend(solver).capabilities.integral_data_only:
        # the same instance in units of 1e-7 (CP-SAT scales by at most 10^6): 7 units over
        inst = inst.replace(costs=np.round(inst.costs * 1e7)).with_limits([1e10])
    res = solve(inst, solver)
    assert res.status == "infeasible", res
    assert res.assignment is None and res.objective is None


@pytest.mark.parametrize("solver", ALL_SOLVERS)
def test_every_solver_takes_an_allocation_that_fits_as_written_in_cents(solver) -> None:
    if solver not in available_solvers():
        pytest.skip(f"{solver} is not installed")
    inst, answer = exact_in_cents()
    assert 0.1 + 0.2 > 0.3  # the float sum is above the limit as written
    res = solve(inst, solver)
    assert res.status in ("optimal", "feasible"), res
    assert res.objective is not None
    if registry.get_backend(solver).capabilities.exact:
        assert res.status == "optimal" and res.objective == pytest.approx(answer)


def test_program_solutions_keep_the_same_contract() -> None:
    from engine.stochastic.milp import MilpSolution

    x = np.ones(2)
    bad = MilpSolution(status="optimal", solver="highs", objective=10.0, bound=5.0, x=x)
    assert bad.status == "error" and "highs" in bad.detail["message"]
    unproven = MilpSolution(status="optimal", solver="highs", objective=10.0, bound=11.0, x=x)
    assert unproven.status == "feasible"
    assert MilpSolution(status="optimal", solver="highs", objective=10.0, bound=10.0,
                        x=x).status == "optimal"


def test_dask_on_a_manifest_needs_a_folder_for_the_allocation(tmp_path) -> None:
    pytest.importorskip("distributed")
    from engine.distributed.dask_dual import solve_dual_dask
    from formulations.errors import UsageError

    with pytest.raises(UsageError, match="out=FOLDER"):
        solve_dual_dask(tmp_path / "instance.toml", options={})
