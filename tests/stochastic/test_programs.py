"""Stochastic programs checked against brute-force enumeration of all allocations and scenarios."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.stochastic.milp import solve_program
from engine.stochastic.plans import chance_constrained, per_scenario, solve_at, two_stage
from formulations.errors import UsageError
from formulations.stochastic_problem import (
    cross_replicates,
    grouped_problem,
    scenario_set,
)
from formulations.stochastic_programs import (
    chance_program,
    deterministic_program,
    quantile_limits,
    two_stage_program,
)
from tests.stochastic import enumerate as brute

REL = 1e-6


def tiny(seed: int, *, replicates: int = 1, budgets: int = 1):
    """3 groups of 1-2 units, 3 options (option 0 a free control), optional cost replicates."""
    rng = np.random.default_rng(seed)
    g, m = 3, 3
    value = rng.uniform(0.0, 10.0, (replicates, g, m))
    value[:, :, 0] = rng.uniform(0.0, 1.0, (replicates, g))
    costs = rng.uniform(1.0, 6.0, (replicates, budgets, g, m))
    costs[:, :, :, 0] = 0.0
    sizes = rng.integers(1, 3, g)
    cap = sizes.sum() * 6.0 * 0.4
    return grouped_problem(value, costs, sizes, [cap] * budgets)


def scen(seed: int, s: int = 3, budgets: int = 1):
    rng = np.random.default_rng(100 + seed)
    p = rng.dirichlet(np.ones(s))
    p = p / p.sum()
    lim = rng.uniform(2.0, 14.0, (s, budgets))
    return scenario_set(p, lim)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-6)


SEEDS = range(6)


@pytest.mark.parametrize("seed", SEEDS)
def test_per_scenario_matches_enumeration(seed: int) -> None:
    pb, sc = tiny(seed), scen(seed)
    res = per_scenario(pb, sc)
    for s, plan in enumerate(res.plans):
        assert plan.status == "optimal"
        assert close(plan.objective, brute.scenario_optimum(pb, sc.limits[s], 0))
    assert res.vss >= -1e-9 and res.evpi == 0.0
    # the mean plan with cut-backs, evaluated by enumeration of every cut-back
    eev = sum(sc.probability[s] * brute.recourse_optimum(pb, res.mean_plan.counts, sc.limits[s], 0)
              for s in range(sc.n_scenarios))
    assert close(res.eev, eev)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("alpha", [0.0, 0.25, 0.6])
def test_chance_quantile_equals_indicators_and_enumeration(seed: int, alpha: float) -> None:
    pb, sc = tiny(seed), scen(seed, s=4)
    truth = brute.chance_optimum(pb, sc, alpha)
    q = chance_constrained(pb, sc, alpha, method="quantile", report=False)
    z = chance_constrained(pb, sc, alpha, method="indicators")
    assert q.method == "quantile" and z.method == "indicators"
    assert close(q.objective, truth) and close(z.objective, truth)
    for plan in (q, z):
        assert plan.probability_met >= 1 - alpha - 1e-9
    assert z.evpi >= -1e-9 and z.vss >= -1e-9


@pytest.mark.parametrize("seed", SEEDS)
def test_chance_with_cost_replicates_matches_enumeration(seed: int) -> None:
    pb = tiny(seed, replicates=3)
    sc = cross_replicates(scen(seed, s=2), 3, first=0)
    assert quantile_limits(sc, 0.2) is None  # costs vary: no quantile reduction
    for alpha in (0.0, 0.2, 0.5):
        res = chance_constrained(pb, sc, alpha)
        assert res.method == "indicators"
        assert close(res.objective, brute.chance_optimum(pb, sc, alpha))
        assert res.probability_met >= 1 - alpha - 1e-9
        assert res.vss >= -1e-9 and res.evpi >= -1e-9


@pytest.mark.parametrize("recourse", ["shares", "counts"])
@pytest.mark.parametrize("seed", SEEDS)
def test_two_stage_matches_enumeration(seed: int, recourse: str) -> None:
    pb, sc = tiny(seed), scen(seed)
    res = two_stage(pb, sc, recourse=recourse)
    assert res.status == "optimal"
    assert res.detail["recourse"] == recourse
    assert close(res.objective, brute.two_stage_optimum(pb, sc, recourse=recourse))
    assert res.vss >= -1e-9 and res.evpi >= -1e-9
    # realised allocations respect each scenario's budget and only cut back
    for s in range(sc.n_scenarios):
        spend = np.einsum("bgm,gm->b", pb.costs[0], res.recourse[s])
        assert np.all(spend <= sc.limits[s] + 1e-9)
    assert close(float(sc.probability @ res.scenario_values), res.objective)


@pytest.mark.parametrize("recourse", ["shares", "counts"])
def test_two_stage_penalty_matches_enumeration(recourse: str) -> None:
    pb, sc = tiny(3), scen(3)
    res = two_stage(pb, sc, penalty=0.7, report=False, recourse=recourse)
    assert close(res.objective, brute.two_stage_optimum(pb, sc, penalty=0.7, recourse=recourse))


@pytest.mark.parametrize("seed", SEEDS)
def test_share_recourse_bounds_whole_counts(seed: int) -> None:
    """Shares relax whole counts: their optimum is an upper bound, and both recourse kinds keep
    VSS >= 0 and EVPI >= 0 against their own EEV and WS."""
    pb, sc = tiny(seed), scen(seed)
    shares, counts = two_stage(pb, sc, recourse="shares"), two_stage(pb, sc, recourse="counts")
    assert shares.objective >= counts.objective - 1e-9
    for res in (shares, counts):
        assert res.vss >= -1e-9 and res.evpi >= -1e-9
    assert shares.ws >= counts.ws - 1e-9


@pytest.mark.parametrize("recourse", ["shares", "counts"])
@pytest.mark.parametrize("seed", SEEDS)
def test_downgrade_cutback_matches_enumeration(seed: int, recourse: str) -> None:
    """cutback="cheaper": units may move down to any cheaper option, not only the fallback."""
    pb, sc = tiny(seed), scen(seed)
    res = two_stage(pb, sc, recourse=recourse, cutback="cheaper", penalty=0.3)
    assert res.status == "optimal" and res.detail["cutback"] == "cheaper"
    assert close(res.objective, brute.two_stage_optimum(pb, sc, penalty=0.3, recourse=recourse,
                                                        cutback="cheaper"))
    assert res.vss >= -1e-9 and res.evpi >= -1e-9
    assert close(float(sc.probability @ res.scenario_values), res.objective)
    # wider recourse, never worse; realised counts keep each group's size and fit each budget
    narrow = two_stage(pb, sc, recourse=recourse, penalty=0.3, report=False)
    assert res.objective >= narrow.objective - 1e-9
    assert np.allclose(res.recourse.sum(axis=2), pb.sizes[None, :])
    assert res.recourse.min() >= -1e-9
    for s in range(sc.n_scenarios):
        assert np.all(np.einsum("bgm,gm->b", pb.costs[0], res.recourse[s]) <= sc.limits[s] + 1e-9)


def test_unknown_recourse_is_refused() -> None:
    pb, sc = tiny(0), scen(0)
    with pytest.raises(UsageError, match="recourse: expected one of"):
        two_stage_program(pb, sc, recourse="units")
    with pytest.raises(UsageError, match="cutback: expected one of"):
        two_stage_program(pb, sc, cutback="down")


def test_two_budgets_match_enumeration() -> None:
    pb, sc = tiny(1, budgets=2), scen(1, s=3, budgets=2)
    ps = per_scenario(pb, sc)
    for s, plan in enumerate(ps.plans):
        assert close(plan.objective, brute.scenario_optimum(pb, sc.limits[s], 0))
    for recourse in ("shares", "counts"):
        ts = two_stage(pb, sc, report=False, recourse=recourse)
        assert close(ts.objective, brute.two_stage_optimum(pb, sc, recourse=recourse))
    cc = chance_constrained(pb, sc, 0.3, method="indicators", report=False)
    assert close(cc.objective, brute.chance_optimum(pb, sc, 0.3))


@pytest.mark.parametrize("seed", range(3))
def test_value_monotone_and_lambda_non_increasing(seed: int) -> None:
    rng = np.random.default_rng(seed)
    g, m = 12, 5
    value = np.sort(rng.uniform(0, 10, (g, m)), axis=1)
    costs = np.sort(rng.uniform(0, 5, (g, m)), axis=1)
    costs[:, 0] = 0.0
    pb = grouped_problem(value, costs, rng.integers(5, 50, g), [0.0])
    budgets = np.linspace(0.0, float((costs.max(axis=1) * pb.sizes).sum()) * 1.1, 15)
    sc = scenario_set(np.full(15, 1 / 15), budgets)
    res = per_scenario(pb, sc)
    vals = np.array([p.objective for p in res.plans])
    lams = np.array([p.lam[0] for p in res.plans])
    assert np.all(np.diff(vals) >= -1e-9)
    assert np.all(np.diff(lams) <= 1e-9)
    assert lams[0] > 0 and lams[-1] == pytest.approx(0.0, abs=1e-9)


def test_lambda_is_the_lp_marginal_value() -> None:
    pb, _ = tiny(2), None
    for lim in (4.0, 7.5, 11.0):
        lp = solve_program(deterministic_program(pb, [lim]).relaxed())
        lp2 = solve_program(deterministic_program(pb, [lim + 1e-4]).relaxed())
        lam = solve_at(pb, [lim]).lam[0]
        assert lam == pytest.approx((lp2.objective - lp.objective) / 1e-4, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_highs_and_ortools_agree(seed: int) -> None:
    pb = tiny(seed, replicates=2)
    sc = cross_replicates(scen(seed, s=3), 2, first=0)
    programs = [
        deterministic_program(pb, sc.limits[0]),
        chance_program(pb, sc, 0.3),
        two_stage_program(pb, sc),
        two_stage_program(pb, sc, recourse="counts"),
        two_stage_program(pb, sc, recourse="counts", cutback="cheaper"),
    ]
    for prog in programs:
        a = solve_program(prog, "highs")
        b = solve_program(prog, "ortools")
        assert a.status == b.status == "optimal", prog.name
        assert math.isclose(a.objective, b.objective, rel_tol=1e-6, abs_tol=1e-9), prog.name
    # and through the plan API
    assert close(two_stage(pb, sc, solver="ortools", report=False).objective,
                 two_stage(pb, sc, report=False).objective)


def test_probabilities_must_sum_to_one() -> None:
    with pytest.raises(UsageError, match="sum to 1"):
        scenario_set([0.5, 0.4], [1.0, 2.0])
    with pytest.raises(UsageError, match=">= 0"):
        scenario_set([1.5, -0.5], [1.0, 2.0])


def test_bad_alpha_and_method() -> None:
    pb, sc = tiny(0), scen(0)
    with pytest.raises(UsageError, match="alpha"):
        chance_constrained(pb, sc, 1.0)
    with pytest.raises(UsageError, match="quantile"):
        chance_constrained(pb, cross_replicates(sc, 1, first=0).__class__(
            sc.probability, sc.limits, np.array([0, 0, 0])), 0.1, method="nope")


def test_infeasible_scenario_is_a_status() -> None:
    pb = grouped_problem(np.array([[0.0, 1.0]]), np.array([[1.0, 2.0]]), [1], [0.5])
    plan = solve_at(pb, [0.5])
    assert plan.status == "infeasible" and plan.counts is None
