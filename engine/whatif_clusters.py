"""What-if sweeps over a K-cluster program (integer counts n_kj per cluster and option).

The same table as :func:`engine.whatif.whatif`, for a grouped problem
(``formulations.stochastic_problem.GroupedProblem``): each point is the deterministic count
program at that point's limits, solved exactly (HiGHS, or OR-Tools as the cross-check), with the
point-estimate response (replicate 0). lp_value and lambda come from the program's LP relaxation
(HiGHS): lambda is the budget row's shadow price, the marginal value of one more unit of budget.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from engine.result import relative_gap
from engine.stopping import interrupted
from engine.whatif import (
    PointRow,
    Sweep,
    WhatIf,
    check_scenarios,
    option_factors,
    scenario_marks,
    table,
)
from formulations.errors import UsageError
from formulations.stochastic_problem import GroupedProblem

#: the exact solvers of a cluster program's count program
CLUSTER_SOLVERS = ("highs", "ortools")


def scaled_problem(
    problem: GroupedProblem,
    cost_scale: Mapping[str, float] | None = None,
    value_scale: Mapping[str, float] | None = None,
) -> GroupedProblem:
    """Option o's per-unit cost in every budget times ``cost_scale[o]``, its value times
    ``value_scale[o]``, in every cluster and every response replicate."""
    costs_f = option_factors(problem.option_labels, cost_scale, "cost_scale")
    value_f = option_factors(problem.option_labels, value_scale, "value_scale")
    if not costs_f and not value_f:
        return problem
    cm = np.ones(problem.n_options)
    vm = np.ones(problem.n_options)
    for j, f in costs_f.items():
        cm[j] = f
    for j, f in value_f.items():
        vm[j] = f
    return replace(problem, value=problem.value * vm, costs=problem.costs * cm)


def whatif_clusters(
    problem: GroupedProblem,
    sweep: Sweep,
    *,
    solver: str = "highs",
    time_limit: float | None = None,
    cost_scale: Mapping[str, float] | None = None,
    value_scale: Mapping[str, float] | None = None,
    scenarios: Sequence[Any] = (),
) -> WhatIf:
    """Solve the cluster program at every point of ``sweep``; the table of engine.whatif."""
    from engine.stochastic.milp import solve_program
    from engine.stochastic.plans import Plan
    from formulations.stochastic_programs import deterministic_program

    check_scenarios(problem, scenarios)
    if solver not in CLUSTER_SOLVERS:
        raise UsageError(f"solver: a cluster program is solved exactly with one of "
                         f"{list(CLUSTER_SOLVERS)}, got {solver!r}")
    exact = solver
    prob = scaled_problem(problem, cost_scale, value_scale).mean_response()
    if sweep.budget_names != prob.budget_names:
        raise UsageError(
            f"sweep: budgets {list(sweep.budget_names)} do not match the program's "
            f"{list(prob.budget_names)}"
        )
    names = prob.budget_names
    rows: list[PointRow] = []
    plans = []
    lp = np.full(sweep.n_points, np.nan)
    lam = {n: np.full(sweep.n_points, np.nan) for n in names}
    start = time.perf_counter()
    for i, limits in enumerate(sweep.limits):
        if interrupted():  # Ctrl-C / SIGTERM: the points solved so far
            sweep = sweep.head(i)
            lp, lam = lp[:i], {n: v[:i] for n, v in lam.items()}
            break
        t0 = time.perf_counter()
        program = deterministic_program(prob, limits)
        # threads=None: HiGHS refuses a thread count other than that of the scheduler an earlier
        # solve in this process started ("scheduler has already been initialized")
        sol = solve_program(program, exact, time_limit=time_limit, threads=None)
        counts = None if sol.x is None else program.block(sol.x, "n")
        plan = Plan(sol.status, sol.solver, sol.objective, sol.bound, counts, limits,
                    None if counts is None else np.einsum("bgm,gm->b", prob.costs[0], counts),
                    None, sol.seconds)
        relaxed = solve_program(program.relaxed(), "highs", time_limit=time_limit, threads=None)
        if relaxed.objective is not None and relaxed.status == "optimal":
            lp[i] = relaxed.objective
            if relaxed.row_dual is not None:
                a, b = program.row_blocks["budget"]
                for n, d in zip(names, np.maximum(relaxed.row_dual[a:b], 0.0), strict=True):
                    lam[n][i] = float(d)
        has = plan.counts is not None
        usage = (
            dict(zip(names, np.asarray(plan.spend, dtype=float).tolist(), strict=True))
            if has and plan.spend is not None else {}
        )
        mix = plan.mix(prob.option_labels) if has else {o: float("nan")
                                                         for o in prob.option_labels}
        rows.append(PointRow(plan.status, plan.objective, plan.bound,
                             relative_gap(plan.objective, plan.bound), usage, mix,
                             time.perf_counter() - t0, has))
        plans.append(plan)
    seconds = time.perf_counter() - start
    notes = [f"cluster program: {prob.n_groups} clusters; counts solved exactly with {exact}"]
    if problem.n_replicates > 1:
        notes.append("response replicates present: the sweep uses the point estimate "
                     "(replicate 0)")
    return WhatIf(
        instance_name=problem.name,
        sweep=sweep,
        table=table(sweep, rows, lp, lam),
        results=tuple(plans),
        frontier=None,
        option_labels=tuple(prob.option_labels),
        solver=exact,
        seconds=seconds,
        cost_scale=dict(cost_scale or {}),
        value_scale=dict(value_scale or {}),
        n_units=prob.n_units,
        notes=tuple(notes),
        lambda_source="LP relaxation duals (HiGHS)",
        scenario_marks=scenario_marks(problem, scenarios, sweep),
    )
