"""The conformance suite for ``dual`` on its Dask backend: random tiny instances (ragged, both
choose modes, some infeasible; one to three budgets, with and without capacities) against brute
force, and equal to the in-memory ``dual``. Several budgets and capacities go through the
distributed level bundle (engine/distributed/dask_multi.py), cut into several partitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings

pytest.importorskip("distributed")

from engine import solve
from engine.result import SolveResult
from formulations.instance import Instance
from tests.engine.brute_force import brute_force
from tests.engine.test_conformance import check_against_optimum, tiny_instances

REL = 1e-9


def one_budget(inst: Instance) -> Instance:
    return inst.replace(budgets=inst.budgets[:1], costs=inst.costs[:1], capacities=())


def several_rows(inst: Instance) -> bool:
    return inst.n_budgets > 1 or bool(inst.capacities)


def same_as_in_memory(res: SolveResult, mem: SolveResult) -> None:
    assert (res.objective is None) == (mem.objective is None), (res, mem)
    if res.objective is not None and mem.objective is not None:
        assert abs(res.objective - mem.objective) <= REL * max(1.0, abs(mem.objective))
    if res.bound is not None and mem.bound is not None:
        assert abs(res.bound - mem.bound) <= REL * max(1.0, abs(mem.bound))


def test_tiny_one_budget_instances_match_brute_force_and_in_memory_dual(dask_client) -> None:
    @settings(max_examples=40, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(inst=tiny_instances().map(one_budget))
    def prop(inst: Instance) -> None:
        truth = brute_force(inst)
        res = solve(inst, "dual", options={"backend": "dask", "client": dask_client})
        assert res.solver == "dual-dask"
        check_against_optimum(inst, "dual", res, truth.objective)
        same_as_in_memory(res, solve(inst, "dual"))

    prop()


def test_tiny_instances_with_several_budgets_or_capacities(dask_client) -> None:
    """Against brute force, and equal to the in-memory dual (objective and bound to 1e-9):
    on one partition (the default size) and cut into partitions of about two units."""

    @settings(max_examples=40, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                     HealthCheck.filter_too_much])
    @given(inst=tiny_instances().filter(several_rows))
    def prop(inst: Instance) -> None:
        event(f"budgets={inst.n_budgets} capacities={len(inst.capacities)}")
        truth = brute_force(inst)
        mem = solve(inst, "dual")
        for rows in (1_000_000, 2 * inst.max_options):
            res = solve(inst, "dual", options={"backend": "dask", "client": dask_client,
                                               "partition_rows": rows})
            assert res.solver == "dual-dask"
            check_against_optimum(inst, "dual", res, truth.objective)
            same_as_in_memory(res, mem)

    prop()


def test_partition_count_does_not_change_a_multi_budget_answer(dask_client) -> None:
    """The tiny cases above fit one kernel block; here three partitions of whole blocks."""
    from formulations.synthetic import synthetic_instance

    inst = synthetic_instance(35_000, 3, 2, seed=5)
    # (a small core: the polish's completion MIP finishes far inside its 1 s limit)
    mem = solve(inst, "dual", options={"core_size": 1000})
    res = solve(inst, "dual", options={"backend": "dask", "client": dask_client,
                                       "partition_rows": 3 * 16384, "core_size": 1000})
    assert res.detail["partitions"] == 3 and res.detail["aligned_partitions"]
    assert res.objective == mem.objective and res.bound == mem.bound
    assert np.array_equal(res.assignment, mem.assignment)
