"""Cluster programs (HRC reconstruction): estimates, merging, file round trip, solving, K choice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.clusters import (
    deployable_table,
    fit_clusters,
    per_budget_plans,
    solve_cluster_program,
)
from engine.stochastic.plans import chance_constrained, two_stage
from evaluation.cluster_cells import cluster_program_from_data, merge_small_cells
from evaluation.cluster_selection import select_k
from evaluation.policy import policy_value
from formulations.cluster_program import load_cluster_program, write_cluster_program
from formulations.errors import InstanceError, UsageError
from formulations.experiment_data import experiment_from_frame, load_experiment
from formulations.instance import Scenario

ARMS = ["control", "small", "big"]
# true mean outcome per (segment, arm): segment 0 likes "big", 1 likes "small", 2 likes nothing
TRUTH = np.array([[1.0, 1.5, 3.0], [1.0, 2.5, 2.6], [2.0, 2.1, 2.0]])
COST = {"small": 1.0, "big": 2.0}


def synthetic_rct(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, 3, n)
    arm = rng.integers(0, 3, n)
    centres = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    x = centres[seg] + rng.normal(0, 0.7, (n, 2))
    y = TRUTH[seg, arm] + rng.normal(0, 1.0, n)
    return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "arm": np.array(ARMS)[arm], "y": y,
                         "seg": seg})


def data(n: int = 6000, seed: int = 0):
    return experiment_from_frame(synthetic_rct(n, seed), treatment="arm", outcome="y",
                                 control="control", costs=COST, features=["x1", "x2"],
                                 name="synthetic")


def test_cell_means_recover_the_truth_and_round_trip(tmp_path: Path) -> None:
    d = data()
    cl = fit_clusters(d.feature_matrix(), 3, seed=0)
    prog = cluster_program_from_data(d, cl.labels, budget="cash", min_samples=30,
                                     n_replicates=5, seed=1)
    assert prog.n_clusters == 3 and not prog.merged
    truth = TRUTH[:, [ARMS.index(a) for a in d.arms]]  # data arms: control first, then sorted
    # each cluster's means match one true segment within 4 standard errors
    for k in range(3):
        seg = int(np.argmin(np.abs(prog.value[0, k][None] - truth).max(axis=1)))
        assert np.all(np.abs(prog.value[0, k] - truth[seg]) < 4 * prog.value_se[k] + 1e-9)
    assert np.allclose(prog.costs[0, 0], np.array([COST.get(a, 0.0) for a in d.arms])[None])
    assert prog.samples.sum() == d.n_units and prog.sizes.sum() == d.n_units
    path = write_cluster_program(prog, tmp_path / "prog.toml")
    back = load_cluster_program(path)
    assert back.clusters == prog.clusters and back.options == prog.options
    assert np.allclose(back.value, prog.value) and np.allclose(back.costs, prog.costs)
    assert np.array_equal(back.sizes, prog.sizes) and np.array_equal(back.valid, prog.valid)
    assert np.allclose(back.value_se, prog.value_se) and back.n_replicates == 5


def test_plan_treats_the_segments_that_respond() -> None:
    d = data()
    cl = fit_clusters(d.feature_matrix(), 3, seed=0)
    prog = cluster_program_from_data(d, cl.labels, min_samples=30)
    seg = pd.crosstab(cl.labels, synthetic_rct(6000, 0)["seg"]).to_numpy().argmax(axis=1)
    plan = solve_cluster_program(prog, [1e9])  # budget not binding
    best = np.asarray(d.arms)[plan.counts.argmax(axis=1)]
    assert list(best) == [ARMS[j] for j in TRUTH.argmax(axis=1)[seg]]
    tight = solve_cluster_program(prog, [1000.0])
    assert tight.spend["cost"] <= 1000.0 + 1e-9 and tight.lam["cost"] > 0
    shares = tight.shares()
    assert np.allclose(shares.groupby("cluster")["share"].sum(), 1.0)


def test_small_cells_are_merged_into_the_nearest_cluster() -> None:
    rng = np.random.default_rng(2)
    arm = rng.integers(0, 3, 900)
    labels = np.repeat([0, 1, 2], 300)
    labels[:12] = 3  # cluster 3: 12 units, cells of ~4
    centroids = np.array([[0.0], [10.0], [20.0], [1.0]])
    y = rng.normal(size=900)
    lab, merged = merge_small_cells(labels, arm, 3, 30, outcome=y, centroids=centroids)
    assert merged == {3: 0}
    assert set(np.unique(lab)) == {0, 1, 2}
    d = data(900, 3)
    prog = cluster_program_from_data(d, labels, min_samples=30, centroids=centroids)
    assert prog.merged == {"3": "0"} and prog.n_clusters == 3
    assert prog.samples.min() >= 30


def test_saa_plan_holds_in_every_replicate() -> None:
    d = data(3000, 4)
    cl = fit_clusters(d.feature_matrix(), 4, seed=0)
    prog = cluster_program_from_data(d, cl.labels, min_samples=20, n_replicates=15, seed=2)
    # noisy costs: a cost column with noise, so replicates differ in cost too
    plan = solve_cluster_program(prog, [1500.0], response="saa", alpha=0.0)
    assert plan.status == "optimal" and plan.detail["probability_met"] >= 1.0 - 1e-9
    loose = solve_cluster_program(prog, [1500.0], response="saa", alpha=0.3)
    assert loose.objective >= plan.objective - 1e-9
    assert loose.detail["probability_met"] >= 0.7 - 1e-9
    with pytest.raises(UsageError, match="response"):
        solve_cluster_program(prog, [1.0], response="mean")


def test_cost_replicates_make_an_integer_stochastic_program() -> None:
    df = synthetic_rct(3000, 5)
    rng = np.random.default_rng(5)
    df["c"] = df["arm"].map({"control": 0.0, "small": 1.0, "big": 2.0}) * rng.lognormal(0, 0.5,
                                                                                          3000)
    d = experiment_from_frame(df, treatment="arm", outcome="y", control="control", cost="c",
                              features=["x1", "x2"])
    cl = fit_clusters(d.feature_matrix(), 3, seed=0)
    prog = cluster_program_from_data(d, cl.labels, n_replicates=10, seed=0,
                                     scenarios=[Scenario(0.5, {"cost": 800.0}),
                                                Scenario(0.5, {"cost": 1600.0})])
    problem = prog.problem()
    sc = prog.scenario_set(replicates=True)
    assert sc.n_scenarios == 20
    res = chance_constrained(problem, sc, 0.2)
    assert res.method == "indicators" and res.probability_met >= 0.8 - 1e-9
    assert res.vss >= 0 and res.evpi >= -1e-9
    ts = two_stage(problem, sc)
    assert ts.vss >= -1e-9 and ts.evpi >= -1e-9


def test_select_k_prefers_real_structure() -> None:
    full = data(8000, 6)
    tr, ho = full.subset(np.arange(4000)), full.subset(np.arange(4000, 8000))
    sel = select_k(tr, ho, [1, 3], [0.6, 1.0], policy_value=policy_value, min_samples=30,
                   n_boot=50)
    means = sel.table.groupby("k")["value"].mean()
    assert sel.best_k == 3 and means[3] > means[1]
    assert {"value_lo", "value_hi", "spend"} <= set(sel.table.columns)


def test_deployable_table_per_budget() -> None:
    d = data(3000, 7)
    cl = fit_clusters(d.feature_matrix(), 3, seed=0)
    prog = cluster_program_from_data(
        d, cl.labels, scenarios=[Scenario(0.25, {"cost": 500.0}), Scenario(0.5, {"cost": 1000.0}),
                                 Scenario(0.25, {"cost": 2000.0})])
    plans = per_budget_plans(prog)
    table = deployable_table(prog, plans)
    assert set(table.columns) >= {"scenario", "probability", "limit_cost", "cluster", "option",
                                  "share", "count"}
    assert np.allclose(table.groupby(["scenario", "cluster"])["share"].sum(), 1.0)
    vals = [p.objective for p in plans.plans]
    assert vals == sorted(vals) and plans.vss >= 0


def _write(tmp: Path, manifest: str, table: pd.DataFrame, name: str = "p.toml") -> Path:
    table.to_csv(tmp / "t.csv", index=False)
    (tmp / name).write_text(manifest)
    return tmp / name


GOOD = 'name = "x"\nkind = "clusters"\ntable = "t.csv"\n[[budgets]]\nname = "cash"\nlimit = 5.0\n'


def _table() -> pd.DataFrame:
    return pd.DataFrame({"cluster": ["a", "a", "b", "b"], "option": ["c", "t", "c", "t"],
                         "size": [3, 3, 2, 2], "value": [0.0, 1.0, 0.0, 2.0],
                         "cash": [0.0, 1.0, 0.0, 1.5]})


def test_loader_accepts_a_good_file(tmp_path: Path) -> None:
    prog = load_cluster_program(_write(tmp_path, GOOD, _table()))
    assert prog.sizes.tolist() == [3, 2] and prog.limits.tolist() == [5.0]
    plan = solve_cluster_program(prog)
    assert plan.objective == pytest.approx(2 * 2.0 + 2 * 1.0)  # b fully (spend 3), 2 units of a


@pytest.mark.parametrize(
    ("manifest", "mutate", "match"),
    [
        (GOOD.replace('"clusters"', '"mckp"'), None, "kind: expected 'clusters'"),
        (GOOD + "colour = 1\n", None, "colour: unknown key"),
        (GOOD, lambda t: t.drop(columns="cash"), "column 'cash': missing"),
        (GOOD, lambda t: pd.concat([t, t.iloc[:1]]), "duplicate"),
        (GOOD, lambda t: t.assign(size=[3, 4, 2, 2]), "different sizes"),
        (GOOD, lambda t: t.assign(size=[3.5, 3.5, 2, 2]), "whole number"),
        (GOOD, lambda t: t.assign(value=[0.0, np.nan, 0.0, 1.0]), "finite number"),
        (GOOD, lambda t: t.iloc[:0], "empty"),
        (GOOD + "[[scenarios]]\nprobability = 0.5\nlimits = { cash = 1.0 }\n", None,
         "sum to 1"),
        (GOOD, lambda t: pd.concat([t.assign(replicate=0), t.iloc[:3].assign(replicate=1)]),
         "same \\(cluster, option\\) rows"),
    ],
)
def test_loader_errors(tmp_path: Path, manifest, mutate, match) -> None:
    t = _table() if mutate is None else mutate(_table())
    with pytest.raises(InstanceError, match=match):
        load_cluster_program(_write(tmp_path, manifest, t))


def test_scaled_and_unknown_option() -> None:
    d = data(2000, 8)
    prog = cluster_program_from_data(d, fit_clusters(d.feature_matrix(), 2).labels)
    s = prog.scaled(cost_scale={"big": 2.0})
    j = prog.options.index("big")
    assert np.allclose(s.costs[..., j], 2 * prog.costs[..., j])
    assert np.allclose(s.value, prog.value)
    with pytest.raises(UsageError, match="unknown option 'huge'"):
        prog.scaled(value_scale={"huge": 1.0})


EXP = """name = "e"
table = "d.csv"
treatment = "arm"
control = "control"
outcome = "y"
features = ["x1", "x2"]
[costs]
small = 1.0
big = 2.0
"""


@pytest.mark.parametrize(
    ("manifest", "mutate", "match"),
    [
        (EXP, None, None),
        ("colour = 2\n" + EXP, None, "colour: unknown key"),
        (EXP.replace('control = "control"', 'control = "none"'), None, "unknown treatment 'none'"),
        (EXP.replace("big = 2.0\n", ""), None, "no cost for treatment 'big'"),
        (EXP.replace("big = 2.0", "big = 2.0\nhuge = 1.0"), None, "costs.huge: unknown"),
        ('propensity = "p"\n' + EXP, lambda t: t.assign(p=0.0), r"propensity in \(0, 1\]"),
        (EXP, lambda t: t.assign(arm="control"), "at least two arms"),
        (EXP, lambda t: t.assign(x1=np.where(t.index == 5, np.nan, t.x1)), "row 6, column 'x1'"),
        (EXP, lambda t: t.drop(columns="y"), "column 'y': missing"),
    ],
)
def test_experiment_manifest(tmp_path: Path, manifest, mutate, match) -> None:
    t = synthetic_rct(200, 1)
    t = t if mutate is None else mutate(t)
    t.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "data.toml").write_text(manifest)
    if match is None:
        d = load_experiment(tmp_path)
        assert d.arms == ("control", "big", "small") and d.n_units == 200
        share = np.bincount(d.arm) / d.n_units
        assert np.allclose(d.propensity, share[d.arm])
        assert np.allclose(d.cost, np.array([0.0, 2.0, 1.0])[d.arm])
    else:
        with pytest.raises(InstanceError, match=match):
            load_experiment(tmp_path)
