"""treatalloc plan: the three stochastic programs from a file, their tables and bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.stochastic import chance_constrained, two_stage
from formulations import load_instance, write_instance
from formulations.cluster_program import ClusterProgram, write_cluster_program
from formulations.instance import Budget, Scenario
from formulations.stochastic_problem import from_instance, grouped_problem, instance_scenarios
from formulations.synthetic import synthetic_instance
from treatalloc.cli import main


def cluster_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    g = 8
    cost = np.array([0.0, 1.0, 2.0, 4.0])[None, :] * rng.lognormal(0, 0.2, (g, 1))
    value = rng.lognormal(0, 0.5, (g, 1)) * (1 - np.exp(-0.4 * cost))
    sizes = rng.integers(50, 300, g)
    lim = 0.3 * float((sizes * cost[:, -1]).sum())
    prob = grouped_problem(value, cost, sizes, [lim], budget_names=["cash"],
                           option_labels=["control", "c1", "c2", "c4"], name="clusters")
    program = ClusterProgram(
        name="clusters", clusters=tuple(f"k{i}" for i in range(g)), options=prob.option_labels,
        sizes=prob.sizes, value=prob.value, costs=prob.costs, valid=prob.valid,
        budgets=(Budget("cash", lim, "cash"),),
        scenarios=(Scenario(0.25, {"cash": 0.6 * lim}), Scenario(0.5, {"cash": lim}),
                   Scenario(0.25, {"cash": 1.4 * lim})),
    )
    write_cluster_program(program, tmp_path / "prog")
    return tmp_path / "prog"


def instance_file(tmp_path: Path, scenarios: bool = True) -> Path:
    inst = synthetic_instance(10, 3, seed=2, budget_fraction=0.3)
    lim = inst.budgets[0].limit
    if scenarios:
        name = inst.budgets[0].name
        inst = inst.replace(scenarios=(Scenario(0.5, {name: 0.7 * lim}),
                                       Scenario(0.5, {name: 1.3 * lim})))
    path = tmp_path / "inst" / "instance.toml"
    write_instance(inst, path)
    return path


def test_two_stage_on_a_cluster_program(tmp_path: Path, capfd) -> None:
    prog = cluster_file(tmp_path)
    out = tmp_path / "plan.csv"
    code = main(["plan", str(prog), "--program", "two-stage", "--cutback", "cheaper",
                 "--csv", str(out), "--json"])
    captured = capfd.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)  # stdout holds the JSON object only
    assert summary["status"] == "optimal" and summary["cutback"] == "cheaper"
    assert summary["vss"] >= -1e-9 and summary["evpi"] >= -1e-9
    from formulations.cluster_program import load_cluster_program

    program = load_cluster_program(prog)
    ref = two_stage(program.problem(), program.scenario_set(), cutback="cheaper", report=False)
    assert math.isclose(summary["value"], ref.objective, rel_tol=1e-9)
    table = pd.read_csv(out)
    assert set(table["stage"]) == {"first stage", "scenario"}
    assert list(table.columns) == ["stage", "scenario", "probability", "limit_cash", "group",
                                   "option", "units", "share"]
    # every (stage, scenario, group) keeps the cluster's size, and shares sum to 1
    per = table.groupby(["stage", "scenario", "group"], dropna=False)
    assert np.allclose(per["share"].sum(), 1.0)
    sizes = dict(zip(program.clusters, program.sizes, strict=True))
    for (_, _, grp), units in per["units"].sum().items():
        assert units == pytest.approx(sizes[grp])
    assert (table["units"] >= 0).all()


def test_chance_and_per_scenario_on_an_instance(tmp_path: Path, capfd) -> None:
    path = instance_file(tmp_path)
    code = main(["plan", str(path), "--program", "chance", "--alpha", "0.5", "--json"])
    captured = capfd.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    inst = load_instance(path)
    ref = chance_constrained(from_instance(inst), instance_scenarios(inst), 0.5, report=False)
    assert math.isclose(summary["value"], ref.objective, rel_tol=1e-9)
    assert summary["probability_met"] >= 0.5 - 1e-9
    out = tmp_path / "ps.parquet"
    assert main(["plan", str(path), "--program", "per-scenario", "--out", str(out)]) == 0
    text = capfd.readouterr().out
    assert "per-scenario" in text and "treatment mix" in text
    t = pd.read_parquet(out)
    assert set(t["scenario"]) == {0, 1} and (t["stage"] == "scenario").all()


@pytest.mark.parametrize(("extra", "message"), [
    (["--program", "chance"], "--alpha: required"),
    (["--program", "chance", "--alpha", "1.5"], "expected 0 <= alpha < 1"),
    (["--program", "two-stage", "--alpha", "0.1"], "only for --program chance"),
    (["--program", "two-stage", "--penalty", "-1"], "--penalty"),
    (["--program", "two-stage", "--csv", "out.txt"], "expected a file name ending in .csv"),
])
def test_bad_options_exit_2_and_write_nothing(tmp_path: Path, capfd, extra, message) -> None:
    path = instance_file(tmp_path)
    args = ["plan", str(path), *extra]
    if "--csv" not in extra:
        args += ["--csv", str(tmp_path / "x.csv")]
    assert main(args) == 2
    assert message in capfd.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_an_instance_without_scenarios_is_refused(tmp_path: Path, capfd) -> None:
    path = instance_file(tmp_path, scenarios=False)
    assert main(["plan", str(path), "--program", "per-scenario"]) == 2
    assert "has no budget scenarios" in capfd.readouterr().err
