"""The stochastic and cluster path re-checks what a solver returns (before, milp.py rounded
integer columns and kept "optimal" without looking at the rows, plans passed solver statuses
through, and the chance plan recomputed the probability met but never acted on it)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

import engine.stochastic.plans as plans
from engine.stochastic.milp import MilpSolution, _finish
from formulations.stochastic_problem import scenario_set
from formulations.stochastic_programs import LinearProgram, chance_program
from formulations.synthetic_clusters import synthetic_cluster_problem


def one_integer_program() -> LinearProgram:
    """max x, x integer in [0, 2], budget row x <= 1."""
    return LinearProgram(
        name="p", c=np.array([1.0]), A=sp.csr_matrix(np.array([[1.0]])),
        row_lower=np.array([-np.inf]), row_upper=np.array([1.0]), col_lower=np.zeros(1),
        col_upper=np.array([2.0]), integer=np.array([True]),
        col_blocks={"x": (0, 1, (1,))}, row_blocks={"budget": (0, 1)},
    )


def test_a_rounded_solution_that_breaks_a_row_is_an_error() -> None:
    prog = one_integer_program()
    ok = _finish(prog, "highs", "optimal", np.array([1.0 + 1e-10]), 1.0, True, {})
    assert ok.status == "optimal" and ok.x is not None and ok.x[0] == 1.0
    bad = _finish(prog, "highs", "optimal", np.array([1.6]), 2.0, True, {})
    assert bad.status == "error" and bad.x is None
    assert "budget" in bad.detail["message"]


def test_a_plan_that_breaks_its_budget_is_an_error(monkeypatch) -> None:
    pb = synthetic_cluster_problem(6, 3, seed=1)
    limit = 0.2 * float((pb.costs[0, 0].max(axis=1) * pb.sizes).sum())

    def wrong(program, row_dual, incumbent, *, time_limit=None):
        # every unit on the most expensive option: far over the budget, claimed optimal
        n = np.zeros((pb.n_groups, pb.n_options))
        n[:, -1] = pb.sizes
        x = n.reshape(-1)
        return MilpSolution(status="optimal", solver="highs", objective=program.objective(x),
                            bound=program.objective(x), x=x)

    monkeypatch.setattr(plans, "solve_with_fixing", wrong)
    plan = plans.solve_at(pb, [limit])
    assert plan.status == "error"


def test_the_chance_plan_is_downgraded_below_one_minus_alpha(monkeypatch) -> None:
    pb = synthetic_cluster_problem(6, 3, replicates=0, seed=2)
    full = float((pb.costs[0, 0].max(axis=1) * pb.sizes).sum())
    sc = scenario_set(np.full(4, 0.25), np.array([[0.1], [0.2], [0.3], [0.4]]) * full,
                      np.zeros(4, dtype=np.int64))

    def wrong(prog, scenarios, alpha, *, solver="highs", time_limit=None):
        # every unit on the most expensive option (no budget fits), every scenario claimed met
        n = np.zeros((pb.n_groups, pb.n_options))
        n[:, -1] = pb.sizes
        x = np.concatenate([n.reshape(-1), np.ones(4)])
        return MilpSolution(status="optimal", solver="highs", objective=prog.objective(x),
                            bound=prog.objective(x), x=x)

    monkeypatch.setattr(plans, "solve_chance_program", wrong)
    plan = plans.chance_constrained(pb, sc, 0.25, method="indicators", report=False)
    assert plan.probability_met < 0.75
    assert plan.status == "error" and "1 - alpha" in plan.detail["message"]
    # the program itself is what the stub claims to solve
    assert chance_program(pb, sc, 0.25).n_cols == pb.n_groups * pb.n_options + 4
