"""The stochastic programs of ``formulations.stochastic_programs`` as readable pyomo models.

Same mathematics, written with named sets, variables and constraints so that a person can read
(``model.pprint()``) or export (``model.write("plan.lp")``) them, and any pyomo solver can run
them. Python builds one object per variable here: meant for small and medium programs (the
cluster level, tests); the array programs are the ones solved at scale. pyomo is imported lazily.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from formulations.errors import UsageError
from formulations.stochastic_problem import GroupedProblem, ScenarioSet
from formulations.stochastic_programs import (
    CUTBACK,
    PROB_SLACK,
    RECOURSE,
    downgrade_pairs,
    expected_response,
    max_spend,
)


def _base(problem: GroupedProblem, name: str) -> tuple[Any, Any]:
    import pyomo.environ as pyo

    m = pyo.ConcreteModel(name=name)
    m.G = pyo.Set(initialize=range(problem.n_groups), doc="groups (clusters or users)")
    m.J = pyo.Set(initialize=range(problem.n_options), doc="options (treatments)")
    m.B = pyo.Set(initialize=range(problem.n_budgets), doc="budgets")
    m.CELLS = pyo.Set(
        dimen=2, initialize=[(int(g), int(j)) for g, j in zip(*np.nonzero(problem.valid),
                                                             strict=True)],
        doc="(group, option) pairs that may be used",
    )
    size = {g: int(problem.sizes[g]) for g in range(problem.n_groups)}
    m.n = pyo.Var(m.CELLS, domain=pyo.NonNegativeIntegers,
                  bounds=lambda _m, g, j: (0, size[g]), doc="units of group g on option j")
    m.choice = pyo.Constraint(
        m.G, rule=lambda mm, g: sum(mm.n[g, j] for j in mm.J if (g, j) in mm.CELLS) == size[g],
        doc="every unit gets exactly one option",
    )
    caps = [j for j in range(problem.n_options) if np.isfinite(problem.capacities[j])]
    if caps:
        m.capacity = pyo.Constraint(
            caps, rule=lambda mm, j: sum(mm.n[g, j] for g in mm.G if (g, j) in mm.CELLS)
            <= float(problem.capacities[j]),
        )
    return pyo, m


def deterministic_model(problem: GroupedProblem, limits: np.ndarray, replicate: int = 0) -> Any:
    """max sum_{g,j} v_gj n_gj  s.t.  sum_j n_gj = N_g,  sum_{g,j} c_bgj n_gj <= L_b."""
    pyo, m = _base(problem, "deterministic plan")
    v, c = problem.value[replicate], problem.costs[replicate]
    lim = np.asarray(limits, dtype=np.float64)
    m.value = pyo.Objective(expr=sum(float(v[g, j]) * m.n[g, j] for g, j in m.CELLS),
                            sense=pyo.maximize)
    m.budget = pyo.Constraint(
        m.B, rule=lambda mm, b: sum(float(c[b, g, j]) * mm.n[g, j] for g, j in mm.CELLS)
        <= float(lim[b]),
    )
    return m


def chance_model(problem: GroupedProblem, scenarios: ScenarioSet, alpha: float) -> Any:
    """One plan; z_s = 1 forces scenario s's budgets; P(z = 1) >= 1 - alpha (big-M)."""
    pyo, m = _base(problem, "chance-constrained plan")
    vbar, _ = expected_response(problem, scenarios)
    p, lim, resp = scenarios.probability, scenarios.limits, scenarios.response
    m.S = pyo.Set(initialize=range(scenarios.n_scenarios), doc="scenarios")
    m.z = pyo.Var(m.S, domain=pyo.Binary, doc="1 = the budgets must hold in scenario s")
    bigm = {(s, b): max(float(max_spend(problem, int(resp[s]))[b] - lim[s, b]), 0.0)
            for s in range(scenarios.n_scenarios) for b in range(problem.n_budgets)}
    m.value = pyo.Objective(expr=sum(float(vbar[g, j]) * m.n[g, j] for g, j in m.CELLS),
                            sense=pyo.maximize)
    m.budget = pyo.Constraint(
        m.S, m.B,
        rule=lambda mm, s, b: sum(float(problem.costs[resp[s], b, g, j]) * mm.n[g, j]
                                  for g, j in mm.CELLS)
        <= float(lim[s, b]) + bigm[s, b] * (1 - mm.z[s]),
    )
    m.probability = pyo.Constraint(
        expr=sum(float(p[s]) * m.z[s] for s in m.S) >= 1.0 - alpha - PROB_SLACK
    )
    return m


def two_stage_model(
    problem: GroupedProblem, scenarios: ScenarioSet, penalty: float = 0.0,
    recourse: str = "shares", cutback: str = "fallback",
) -> Any:
    """First stage n; per scenario keep w[s,g,j] <= n[g,j], the rest cut back to the fallback.

    ``recourse="shares"`` makes w continuous, ``"counts"`` integer
    (formulations.stochastic_programs explains the choice). ``cutback="cheaper"`` gives the
    downgrade model instead (``downgrade_model``).
    """
    if recourse not in RECOURSE:
        raise UsageError(f"recourse: expected one of {list(RECOURSE)}, got {recourse!r}")
    if cutback not in CUTBACK:
        raise UsageError(f"cutback: expected one of {list(CUTBACK)}, got {cutback!r}")
    if cutback == "cheaper":
        return downgrade_model(problem, scenarios, penalty, recourse)
    pyo, m = _base(problem, "two-stage plan with cut-back")
    p, lim, resp = scenarios.probability, scenarios.limits, scenarios.response
    fb = {g: int(problem.fallback[g]) for g in range(problem.n_groups)}
    size = {g: int(problem.sizes[g]) for g in range(problem.n_groups)}
    m.S = pyo.Set(initialize=range(scenarios.n_scenarios), doc="scenarios")
    m.KEEP = pyo.Set(dimen=2, initialize=[(g, j) for g, j in m.CELLS if j != fb[g]],
                     doc="cells a unit can be kept on (not the fallback)")
    m.w = pyo.Var(m.S, m.KEEP,
                  domain=pyo.NonNegativeIntegers if recourse == "counts" else pyo.NonNegativeReals,
                  bounds=lambda _m, s, g, j: (0, size[g]), doc="units kept on option j")
    m.link = pyo.Constraint(m.S, m.KEEP, rule=lambda mm, s, g, j: mm.w[s, g, j] <= mm.n[g, j])

    def realised(mm: Any, s: int, arr: np.ndarray) -> Any:
        """sum over groups of the fallback's total plus the kept units' difference."""
        return sum(float(arr[g, fb[g]]) * size[g] for g in mm.G) + sum(
            float(arr[g, j] - arr[g, fb[g]]) * mm.w[s, g, j] for g, j in mm.KEEP
        )

    m.budget = pyo.Constraint(
        m.S, m.B,
        rule=lambda mm, s, b: realised(mm, s, problem.costs[resp[s], b]) <= float(lim[s, b]),
    )
    m.value = pyo.Objective(
        expr=sum(
            float(p[s]) * (realised(m, s, problem.value[resp[s]])
                           - penalty * sum(m.n[g, j] - m.w[s, g, j] for g, j in m.KEEP))
            for s in m.S
        ),
        sense=pyo.maximize,
    )
    return m


def downgrade_model(
    problem: GroupedProblem, scenarios: ScenarioSet, penalty: float = 0.0,
    recourse: str = "shares",
) -> Any:
    """First stage n; per scenario move y[s,g,j,t] <= n[g,j] units from option j down to a cheaper
    option t (``downgrade_pairs``); realised units r = n - moves out + moves in."""
    pyo, m = _base(problem, "two-stage plan with downgrades")
    p, lim, resp = scenarios.probability, scenarios.limits, scenarios.response
    size = {g: int(problem.sizes[g]) for g in range(problem.n_groups)}
    m.S = pyo.Set(initialize=range(scenarios.n_scenarios), doc="scenarios")
    m.MOVES = pyo.Set(dimen=3, initialize=[tuple(int(a) for a in row)
                                           for row in downgrade_pairs(problem)],
                      doc="(group, from option, to cheaper option)")
    m.y = pyo.Var(m.S, m.MOVES,
                  domain=pyo.NonNegativeIntegers if recourse == "counts" else pyo.NonNegativeReals,
                  bounds=lambda _m, s, g, j, t: (0, size[g]), doc="units moved from j to t")
    m.outflow = pyo.Constraint(
        m.S, m.CELLS,
        rule=lambda mm, s, g, j: sum(mm.y[s, g, a, t] for (gg, a, t) in mm.MOVES
                                     if gg == g and a == j) <= mm.n[g, j],
        doc="only units on j in the first stage can leave j",
    )

    def realised(mm: Any, s: int, g: int, j: int) -> Any:
        out = sum(mm.y[s, g, j, t] for (gg, a, t) in mm.MOVES if gg == g and a == j)
        into = sum(mm.y[s, g, a, j] for (gg, a, t) in mm.MOVES if gg == g and t == j)
        return mm.n[g, j] - out + into

    m.budget = pyo.Constraint(
        m.S, m.B,
        rule=lambda mm, s, b: sum(float(problem.costs[resp[s], b, g, j]) * realised(mm, s, g, j)
                                  for g, j in mm.CELLS) <= float(lim[s, b]),
    )
    m.value = pyo.Objective(
        expr=sum(
            float(p[s]) * (sum(float(problem.value[resp[s], g, j]) * realised(m, s, g, j)
                               for g, j in m.CELLS)
                           - penalty * sum(m.y[s, g, j, t] for g, j, t in m.MOVES))
            for s in m.S
        ),
        sense=pyo.maximize,
    )
    return m
