"""The readable pyomo models equal the array programs; instance files with budget scenarios."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from engine.solve import solve
from engine.stochastic.milp import solve_program
from engine.stochastic.plans import chance_constrained, per_scenario, two_stage
from formulations.errors import InstanceError
from formulations.instance_file import load_instance, write_instance
from formulations.stochastic_problem import cross_replicates, from_instance, instance_scenarios
from formulations.stochastic_programs import (
    chance_program,
    deterministic_program,
    two_stage_program,
)
from formulations.stochastic_pyomo import chance_model, deterministic_model, two_stage_model
from formulations.synthetic import synthetic_instance
from tests.stochastic.test_programs import scen, tiny


def _pyomo_value(model) -> float:
    import pyomo.environ as pyo

    solver = pyo.SolverFactory("appsi_highs")
    if not solver.available():
        pytest.skip("pyomo's appsi_highs interface is not available")
    solver.config.mip_gap = 1e-9
    res = solver.solve(model)
    assert str(res.solver.termination_condition) == "optimal"
    return float(pyo.value(model.value))


@pytest.mark.parametrize("seed", range(2))
def test_pyomo_models_equal_array_programs(seed: int) -> None:
    pb = tiny(seed, replicates=2)
    sc = cross_replicates(scen(seed), 2, first=0)
    pairs = [
        (deterministic_model(pb, sc.limits[1]), deterministic_program(pb, sc.limits[1])),
        (chance_model(pb, sc, 0.3), chance_program(pb, sc, 0.3)),
        (two_stage_model(pb, sc, penalty=0.5), two_stage_program(pb, sc, penalty=0.5)),
        (two_stage_model(pb, sc, penalty=0.5, recourse="counts"),
         two_stage_program(pb, sc, penalty=0.5, recourse="counts")),
        (two_stage_model(pb, sc, penalty=0.5, cutback="cheaper"),
         two_stage_program(pb, sc, penalty=0.5, cutback="cheaper")),
        (two_stage_model(pb, sc, penalty=0.5, recourse="counts", cutback="cheaper"),
         two_stage_program(pb, sc, penalty=0.5, recourse="counts", cutback="cheaper")),
    ]
    for model, prog in pairs:
        assert math.isclose(_pyomo_value(model), solve_program(prog).objective, rel_tol=1e-6,
                            abs_tol=1e-9), prog.name


def test_per_user_instance_with_scenarios(tmp_path: Path) -> None:
    inst = synthetic_instance(8, 3, seed=4)
    lim = inst.limits[0]
    toml = tmp_path / "inst" / "instance.toml"
    write_instance(inst, toml)
    manifest = tomllib.loads(toml.read_text())
    manifest["budgets"][0]["distribution"] = {"kind": "lognormal", "median": float(lim),
                                              "sigma": 0.4, "points": 5}
    toml.write_text(tomli_w.dumps(manifest))
    loaded = load_instance(toml)
    assert len(loaded.scenarios) == 5
    problem, sc = from_instance(loaded), instance_scenarios(loaded)
    res = per_scenario(problem, sc)
    # each scenario's plan equals the MCKP optimum of the instance at that budget
    for s, plan in enumerate(res.plans):
        ref = solve(loaded.with_limits(sc.limits[s].tolist()), "highs")
        assert math.isclose(plan.objective, ref.objective, rel_tol=1e-6, abs_tol=1e-9)
    vals = [p.objective for p in res.plans]
    assert vals == sorted(vals)
    cc = chance_constrained(problem, sc, 0.2)
    assert cc.probability_met >= 0.8 - 1e-9 and cc.evpi >= -1e-9 and cc.vss >= 0
    ts = two_stage(problem, sc)
    assert ts.vss >= -1e-9 and ts.evpi >= -1e-9


def test_at_most_one_instance_gets_an_explicit_null_option() -> None:
    inst = synthetic_instance(5, 3, seed=1, choose="at-most-one")
    pb = from_instance(inst)
    assert pb.option_labels[-1] == "(none)" and pb.valid[:, -1].all()
    # the cut-back target is a zero-cost option (control or the null option)
    assert np.all(pb.costs[0, 0, np.arange(5), pb.fallback] == 0.0)
    plan = per_scenario(pb, scen(0))
    assert plan.status == "optimal"


def test_instance_file_probabilities_must_sum_to_one(tmp_path: Path) -> None:
    inst = synthetic_instance(4, 3, seed=0)
    toml = tmp_path / "i" / "instance.toml"
    write_instance(inst, toml)
    toml.write_text(toml.read_text() + "\n[[scenarios]]\nprobability = 0.4\n"
                    "limits = { cash = 1.0 }\n")
    with pytest.raises(InstanceError, match="sum to 1"):
        load_instance(toml)
