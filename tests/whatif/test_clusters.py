"""What-if sweeps over cluster programs (integer counts per cluster and option)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.whatif import scale_sweep, value_sweep, whatif
from engine.whatif_clusters import scaled_problem, whatif_clusters
from formulations.errors import UsageError
from formulations.stochastic_problem import from_instance, grouped_problem

from .helpers import small

FRACTIONS = np.linspace(0.2, 1.6, 8)


def clusters(seed: int = 0):
    rng = np.random.default_rng(seed)
    g = 12
    price = np.array([0.0, 1.0, 2.0, 4.0])
    cost = price[None, :] * rng.lognormal(0, 0.2, (g, 1))
    value = rng.lognormal(0, 0.5, (g, 1)) * (1 - np.exp(-0.4 * cost))
    sizes = rng.integers(50, 400, g)
    limit = 0.3 * float((sizes * cost[:, -1]).sum())
    return grouped_problem(value, cost, sizes, [limit], budget_names=["cash"],
                           option_labels=["control", "c1", "c2", "c4"], name="clusters")


def test_cluster_sweep_value_non_decreasing_lambda_non_increasing():
    prob = clusters()
    w = whatif_clusters(prob, scale_sweep(prob, FRACTIONS))
    t = w.table
    assert (t["status"] == "optimal").all()
    assert np.all(np.diff(t["value"]) >= -1e-9)
    assert np.all(np.diff(t["lp_value"]) >= -1e-9)
    assert np.all(np.diff(t["lambda_cash"]) <= 1e-9)
    assert np.all(t["value"] <= t["lp_value"] + 1e-7)
    assert np.all(t["spend_cash"] <= t["limit_cash"] * (1 + 1e-9))
    np.testing.assert_allclose(t[w.share_columns].sum(axis=1), 1.0)
    assert w.n_units == int(prob.sizes.sum())


def test_groups_of_one_unit_give_the_instance_sweep():
    inst = small(25, 1, seed=8)
    sweep = value_sweep(inst, "cash", inst.limits[0] * np.array([0.3, 0.9, 1.5]))
    a = whatif(inst, sweep, solver="highs").table
    b = whatif_clusters(from_instance(inst), sweep).table
    np.testing.assert_allclose(b["value"], a["value"], rtol=1e-9)
    np.testing.assert_allclose(b["lp_value"], a["lp_value"], rtol=1e-7)
    np.testing.assert_allclose(b["lambda_cash"], a["lambda_cash"], rtol=1e-6, atol=1e-9)


def test_cluster_scaling_and_bad_input():
    prob = clusters(1)
    s = scaled_problem(prob, cost_scale={"c2": 2.0}, value_scale={"c4": 0.5})
    np.testing.assert_array_equal(s.costs[..., 2], 2.0 * prob.costs[..., 2])
    np.testing.assert_array_equal(s.costs[..., [0, 1, 3]], prob.costs[..., [0, 1, 3]])
    np.testing.assert_array_equal(s.value[..., 3], 0.5 * prob.value[..., 3])
    sweep = scale_sweep(prob, np.array([0.5, 1.0]))
    base = whatif_clusters(prob, sweep).table
    dearer = whatif_clusters(prob, sweep, cost_scale={"c2": 1.5}).table
    assert np.all(dearer["value"] <= base["value"] + 1e-9)
    with pytest.raises(UsageError, match="unknown option"):
        whatif_clusters(prob, sweep, cost_scale={"c3": 2.0})
    with pytest.raises(UsageError, match="solved exactly"):
        whatif_clusters(prob, sweep, solver="greedy")


def test_cli_on_a_cluster_program_file(tmp_path, capfd):
    from formulations.cluster_program import ClusterProgram, write_cluster_program
    from formulations.instance import Budget, Scenario
    from treatalloc.cli import main

    prob = clusters(2)
    lim = float(prob.base_limits[0])
    program = ClusterProgram(
        name="clusters", clusters=tuple(f"k{i}" for i in range(prob.n_groups)),
        options=prob.option_labels, sizes=prob.sizes, value=prob.value, costs=prob.costs,
        valid=prob.valid, budgets=(Budget("cash", lim, "cash"),),
        scenarios=(Scenario(0.5, {"cash": 0.8 * lim}), Scenario(0.5, {"cash": 1.2 * lim})),
    )
    write_cluster_program(program, tmp_path / "prog")
    out = tmp_path / "out"
    code = main(["whatif", str(tmp_path / "prog"), "--budgets", "0.5:1.5:5", "--out-dir", str(out),
                 "--value-scale", "c1=1.1"])
    captured = capfd.readouterr()
    assert code == 0, captured.err
    t = pd.read_csv(out / "whatif.csv")
    assert len(t) == 5 and (t["status"] == "optimal").all()
    assert np.all(np.diff(t["value"]) >= -1e-9)
    assert "whatif-table" in (out / "whatif.html").read_text()
    # bad input on a cluster program: nothing written
    bad = tmp_path / "bad"
    assert main(["whatif", str(tmp_path / "prog"), "--budgets", "0.5:1.5:5", "--out-dir",
                 str(bad), "--cost-scale", "nope=2"]) == 2
    assert not bad.exists()
    assert main(["whatif", str(tmp_path / "prog"), "--scenarios", "--csv",
                 str(tmp_path / "s.csv")]) == 0
    s = pd.read_csv(tmp_path / "s.csv")
    assert list(s["probability"]) == [0.5, 0.5]
    assert list(s["limit_cash"]) == pytest.approx([0.8 * lim, 1.2 * lim])
