"""The conformance suite for ``dual`` on its Dask backend: random tiny one-budget instances
(ragged, both choose modes, some infeasible) against brute force, and equal to the in-memory
``dual``. The Dask backend does one budget; several budgets must be refused clearly."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

pytest.importorskip("distributed")

from engine import solve
from formulations.errors import UsageError
from formulations.instance import Instance
from formulations.synthetic import synthetic_instance
from tests.engine.brute_force import brute_force
from tests.engine.test_conformance import check_against_optimum, tiny_instances


def one_budget(inst: Instance) -> Instance:
    return inst.replace(budgets=inst.budgets[:1], costs=inst.costs[:1], capacities=())


def test_tiny_one_budget_instances_match_brute_force_and_in_memory_dual(dask_client) -> None:
    @settings(max_examples=40, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(inst=tiny_instances().map(one_budget))
    def prop(inst: Instance) -> None:
        truth = brute_force(inst)
        res = solve(inst, "dual", options={"backend": "dask", "client": dask_client})
        assert res.solver == "dual-dask"
        check_against_optimum(inst, "dual", res, truth.objective)
        mem = solve(inst, "dual")
        assert (res.objective is None) == (mem.objective is None)
        if res.objective is not None and mem.objective is not None:
            assert abs(res.objective - mem.objective) <= 1e-9 * max(1.0, abs(mem.objective))

    prop()


def test_several_budgets_are_refused_with_a_clear_error(dask_client) -> None:
    inst = synthetic_instance(50, 3, 2, seed=0)
    with pytest.raises(UsageError, match="budget"):
        solve(inst, "dual", options={"backend": "dask", "client": dask_client})
