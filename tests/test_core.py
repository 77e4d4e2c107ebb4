"""Core types: Instance views, evaluation, SolveResult semantics, repair/fill, greedy."""

from __future__ import annotations

import json

import numpy as np
import pytest

import engine
from engine.repair import cheapest, fill, repair
from engine.result import SolveResult, is_proven_optimal
from formulations import Capacity, UsageError, evaluate, from_dense
from formulations.synthetic import synthetic_instance


def ragged_instance():
    # unit 0 has 3 options, unit 1 has 1, unit 2 has 2; built through the CSR fields directly
    from formulations.instance import Budget, Instance

    return Instance(
        name="ragged",
        unit_ids=np.array(["a", "b", "c"], dtype=object),
        offsets=np.array([0, 3, 4, 6]),
        option_codes=np.array([0, 1, 2, 0, 0, 2], dtype=np.int32),
        option_labels=("none", "c5", "c10"),
        value=np.array([0.0, 2.0, 3.0, 1.0, 0.0, 4.0]),
        costs=np.array([[0.0, 5.0, 10.0, 0.0, 0.0, 10.0]]),
        budgets=(Budget("cash", 12.0),),
    )


def test_dense_view_pads_ragged_units_with_unusable_cells():
    inst = ragged_instance()
    d = inst.dense()
    assert d.value.shape == (3, 3)
    assert list(d.counts) == [3, 1, 2]
    assert not d.valid[1, 1] and d.value[1, 1] == -np.inf
    assert d.costs[0, 2, 1] == 10.0
    assert list(inst.unit_of_row) == [0, 0, 0, 1, 2, 2]
    assert list(inst.local_index) == [0, 1, 2, 0, 0, 1]


def test_evaluate_objective_usage_and_violations():
    inst = ragged_instance()
    ev = evaluate(inst, np.array([1, 0, 1]))
    # values 2 + 1 + 4, costs 5 + 0 + 10 = 15 > 12
    assert ev.objective == pytest.approx(7.0)
    assert ev.usage[0] == pytest.approx(15.0)
    assert not ev.feasible and "cash" in ev.violations[0]
    assert evaluate(inst, np.array([0, 0, 1])).feasible


def test_evaluate_rejects_out_of_range_index_naming_the_unit():
    inst = ragged_instance()
    with pytest.raises(UsageError, match="'b'"):
        evaluate(inst, np.array([0, 1, 0]))
    with pytest.raises(UsageError, match="expected 3 entries"):
        evaluate(inst, np.array([0, 0]))


def test_from_dense_rejects_mismatched_shapes():
    with pytest.raises(UsageError, match="costs"):
        from_dense(np.zeros((3, 2)), np.zeros((1, 3, 4)), [1.0])


def test_solve_result_never_defaults_to_success_and_gap_definition():
    with pytest.raises(TypeError):
        SolveResult(solver="x")  # type: ignore[call-arg]
    r = SolveResult(status="feasible", solver="x", objective=90.0, bound=100.0)
    assert r.gap == pytest.approx(0.1)
    d = r.to_dict()
    assert {"status", "objective", "bound", "gap", "seconds", "solver", "usage", "limits"} <= set(d)
    json.dumps(d)
    assert SolveResult(status="infeasible", solver="x").to_dict()["objective"] is None
    assert is_proven_optimal(100.0 - 5e-7, 100.0)
    assert not is_proven_optimal(1e6 - 1.0, 1e6)


def test_repair_makes_feasible_and_fill_never_loses_value():
    inst = synthetic_instance(400, 5, 2, seed=3)
    greedy_top = np.full(inst.n_units, 4)  # everyone gets the most expensive coupon
    assert not evaluate(inst, greedy_top).feasible
    fixed = repair(inst, greedy_top)
    ev = evaluate(inst, fixed)
    assert ev.feasible
    filled = fill(inst, fixed)
    ev2 = evaluate(inst, filled)
    assert ev2.feasible and ev2.objective >= ev.objective - 1e-12


def test_repair_respects_capacities():
    inst = synthetic_instance(50, 3, 1, seed=1, budget_fraction=10.0).replace(
        capacities=(Capacity("coupon_2", 5),)
    )
    a = repair(inst, np.full(inst.n_units, 2))
    ev = evaluate(inst, a)
    assert ev.feasible and ev.capacity_usage[0] == 5


def test_cheapest_is_zero_cost_control():
    inst = synthetic_instance(20, 4, 1, seed=0)
    assert np.all(cheapest(inst) == 0)


def test_greedy_is_feasible_and_below_highs():
    inst = synthetic_instance(300, 5, 2, seed=7)
    g = engine.solve(inst, "greedy")
    h = engine.solve(inst, "highs")
    assert g.status == "feasible" and h.status == "optimal"
    assert evaluate(inst, g.assignment).feasible
    assert g.objective <= h.objective + 1e-9
    assert g.bound is None


def test_infeasible_instance_is_a_status_not_an_exception():
    inst = synthetic_instance(30, 3, 1, seed=0).with_limits([-1.0])
    for solver in ("highs", "greedy"):
        assert engine.solve(inst, solver).status == "infeasible"


def test_unknown_solver_and_bad_time_limit_are_usage_errors():
    inst = synthetic_instance(5, 2, 1)
    with pytest.raises(UsageError, match="unknown solver 'nope'"):
        engine.solve(inst, "nope")
    with pytest.raises(UsageError, match="time_limit"):
        engine.solve(inst, "highs", time_limit=0)


def test_with_limits_checks_names():
    inst = synthetic_instance(5, 2, 1)
    assert inst.with_limits({"cash": 3.0}).limits[0] == 3.0
    with pytest.raises(UsageError, match="unknown budget"):
        inst.with_limits({"nope": 1.0})


def test_atomic_write_gives_umask_mode_and_leaves_nothing_on_failure(tmp_path):
    import os
    import stat

    from formulations.atomic_write import atomic_write_text, atomic_write_with

    target = tmp_path / "x.txt"
    atomic_write_text(target, "hello")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask

    def boom(path):
        path.write_text("half")
        raise RuntimeError("fail mid-write")

    with pytest.raises(RuntimeError):
        atomic_write_with(tmp_path / "y.txt", boom)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.txt"]
