"""What each exact backend adds beyond the conformance suite: options, refusals, logs, export."""

from __future__ import annotations

import numpy as np
import pytest

from engine.backends.ortools_cpsat import integer_data, power_of_ten_scale
from engine.backends.pyomo_backend import PyomoBackend
from engine.solve import solve
from formulations.errors import UsageError
from formulations.instance import from_dense
from formulations.pyomo_model import build_pyomo_model, export_model
from tests.engine.brute_force import brute_force
from tests.engine.test_conformance import (
    INFEASIBLE,
    KNOWN,
    ka_capacity,
    ka_one_budget,
    ka_three_budgets,
)

# --- CP-SAT: integral data only ---------------------------------------------------------------


def test_power_of_ten_scale_finds_the_smallest() -> None:
    assert power_of_ten_scale(np.array([1.0, -3.0, 0.0])) == (1, -1)
    assert power_of_ten_scale(np.array([1.5, 0.25])) == (100, -1)
    # 0.1 * 10 is 1.0000000000000002 in floats: within the 1e-9 tolerance
    assert power_of_ten_scale(np.array([0.1, 0.7])) == (10, -1)
    assert power_of_ten_scale(np.array([0.5, 1 / 3])) == (0, 1)


def test_integer_data_scales_each_budget_and_floors_limits() -> None:
    value = np.array([[0.0, 1.25], [0.0, 2.5]])
    costs = np.stack([np.array([[0.0, 0.1], [0.0, 0.3]]), np.array([[0.0, 2.0], [0.0, 7.0]])])
    inst = from_dense(value, costs, [0.35, 8.5])
    data = integer_data(inst)
    assert data.value_scale == 100 and data.cost_scales == (10, 1)
    assert data.value.tolist() == [0, 125, 0, 250]
    assert data.costs[0].tolist() == [0, 1, 0, 3]
    # 0.35 * 10 = 3.5 -> 3 (usage is an integer, so this is exact); 8.5 -> 8
    assert data.limits == (3, 8)


def test_cpsat_refuses_fractional_data_naming_the_entry() -> None:
    value = np.array([[0.0, 1.0], [0.0, 1 / 3]])
    inst = from_dense(value, np.ones((2, 2)), [2.0], unit_ids=np.array(["ann", "bob"]))
    with pytest.raises(UsageError, match=r"unit 'bob', option '1' \(table row 3\)"):
        solve(inst, "ortools-cpsat")
    cost_bad = from_dense(np.ones((1, 2)), np.array([[0.0, np.pi]]), [4.0])
    with pytest.raises(UsageError, match=r"budget .budget. cost 3\.14159"):
        solve(cost_bad, "ortools-cpsat")


def test_cpsat_refuses_data_too_large_to_stay_exact() -> None:
    inst = from_dense(np.array([[0.0, 2.0**60]]), np.ones((1, 2)), [1.0])
    with pytest.raises(UsageError, match="2\\^53"):
        solve(inst, "ortools-cpsat")


def test_cpsat_solves_scaled_data_exactly() -> None:
    inst, answer = ka_one_budget()  # has a value of 4.5: scale 10
    res = solve(inst, "ortools-cpsat", options={"workers": 1, "seed": 3})
    assert res.status == "optimal" and res.objective == pytest.approx(answer)
    assert res.detail["value_scale"] == 10


def test_cpsat_log_goes_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    inst, _ = ka_three_budgets()
    solve(inst, "ortools-cpsat", options={"log": True, "workers": 1})
    out, err = capfd.readouterr()
    assert out == ""
    assert "CP-SAT" in err or "Starting" in err


# --- OR-Tools MathOpt ---------------------------------------------------------------------------


def test_mathopt_reports_the_solver_that_ran() -> None:
    inst, answer = ka_capacity()
    res = solve(inst, "ortools")
    assert res.solver == "ortools-scip" and res.objective == pytest.approx(answer)
    res = solve(inst, "ortools", options={"solver_type": "highs"})
    assert res.solver == "ortools-highs" and res.status == "optimal"
    assert res.objective == pytest.approx(answer)


def test_mathopt_rejects_lp_only_solver_types() -> None:
    inst, _ = ka_capacity()
    with pytest.raises(UsageError, match=r"solver_type.*.glop."):
        solve(inst, "ortools", options={"solver_type": "glop"})


@pytest.mark.parametrize("solver_type", ["glpk", "gurobi"])
def test_mathopt_solver_type_missing_from_the_build_is_a_usage_error(solver_type: str) -> None:
    # the PyPI wheels carry neither GLPK nor Gurobi's library; where they are present, it solves
    inst, answer = ka_capacity()
    try:
        res = solve(inst, "ortools", options={"solver_type": solver_type})
    except UsageError as e:
        assert solver_type.upper() in str(e) or "Gurobi" in str(e)
    else:
        assert res.status == "optimal" and res.objective == pytest.approx(answer)


def test_mathopt_log_goes_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    inst, _ = ka_three_budgets()
    solve(inst, "ortools", options={"log": True})
    out, err = capfd.readouterr()
    assert out == ""
    assert "SCIP" in err


# --- pyomo: the explicit model, its export and its backend ---------------------------------------


def test_pyomo_model_has_the_documented_components() -> None:
    inst, _ = ka_capacity()
    m = build_pyomo_model(inst)
    assert len(m.U) == inst.n_units and len(m.P) == inst.n_rows and len(m.x) == inst.n_rows
    assert len(m.choose) == inst.n_units
    assert list(m.B) == ["budget"] and list(m.O) == ["coupon"]
    assert m.limit["budget"] == 10.0 and m.cap["coupon"] == 2.0
    assert all(m.x[p].is_binary() for p in m.P)
    ragged = from_dense(np.array([[1.0, 2.0, 3.0]]), np.ones((1, 3)), [1.0])
    ragged = ragged.replace(offsets=np.array([0, 1, 3]), unit_ids=np.array([7, 8]),
                            option_codes=np.array([0, 0, 1], dtype=np.int32))
    mr = build_pyomo_model(ragged)
    assert list(mr.J[0]) == [0] and list(mr.J[1]) == [0, 1]


@pytest.mark.parametrize("suffix", [".lp", ".mps"])
@pytest.mark.parametrize("make", KNOWN, ids=lambda f: f.__name__)
def test_exported_model_solves_to_the_known_answer(tmp_path, suffix: str, make) -> None:
    import highspy

    inst, answer = make()
    path = export_model(inst, tmp_path / f"model{suffix}")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert h.getInfo().objective_function_value == pytest.approx(answer, rel=1e-9)
    assert [p.name for p in tmp_path.iterdir()] == [f"model{suffix}"]  # no temporary left


def test_export_names_follow_the_model(tmp_path) -> None:
    inst, _ = ka_three_budgets()
    text = export_model(inst, tmp_path / "m.lp").read_text()
    assert "x(2_3)" in text and "choose(0)" in text and "budget(b3)" in text
    assert text.startswith("\\* Source Pyomo model name=ka_three_budgets")


def test_export_rejects_unknown_suffix_and_writes_nothing(tmp_path) -> None:
    inst, _ = ka_capacity()
    with pytest.raises(UsageError, match=r"expected a suffix in \['.lp', '.mps'\], got '.txt'"):
        export_model(inst, tmp_path / "m.txt")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("make", INFEASIBLE, ids=lambda f: f.__name__)
def test_exported_infeasible_model_is_infeasible(tmp_path, make) -> None:
    import highspy

    path = export_model(make(), tmp_path / "m.mps")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(path))
    h.run()
    assert h.getModelStatus() in (highspy.HighsModelStatus.kInfeasible,
                                  highspy.HighsModelStatus.kUnboundedOrInfeasible)


def test_pyomo_backend_runs_another_pyomo_solver() -> None:
    inst, answer = ka_three_budgets()
    res = solve(inst, "pyomo", options={"pyomo_solver": "highs"})
    assert res.solver == "pyomo-highs" and res.status == "optimal"
    assert res.objective == pytest.approx(answer)
    assert res.detail["build_seconds"] >= 0 and res.detail["solve_seconds"] >= 0


def test_pyomo_backend_refuses_a_missing_solver_with_a_hint() -> None:
    with pytest.raises(UsageError, match=r"'no_such_solver'.*not available"):
        PyomoBackend("no_such_solver")
    inst, _ = ka_capacity()
    with pytest.raises(UsageError, match="not available; install"):
        solve(inst, "pyomo", options={"pyomo_solver": "no_such_solver"})


def test_pyomo_backend_matches_brute_force_with_capacities_and_ragged_units() -> None:
    value = np.array([5.0, 1.0, 4.0, 3.0, 2.0, 6.0])
    inst = from_dense(np.zeros((1, 1)), np.zeros((1, 1)), [1.0]).replace(
        unit_ids=np.array([0, 1, 2]), offsets=np.array([0, 2, 3, 6]),
        option_codes=np.array([0, 1, 1, 0, 1, 2], dtype=np.int32),
        option_labels=("a", "b", "c"), value=value,
        costs=np.array([[2.0, 1.0, 1.0, 2.0, 1.0, 3.0]]),
    ).with_limits([5.0])
    truth = brute_force(inst)
    res = solve(inst, "pyomo")
    assert res.status == "optimal" and res.objective == pytest.approx(truth.objective)
