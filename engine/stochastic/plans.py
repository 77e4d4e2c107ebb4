"""Plans under budget scenarios: per-scenario, chance-constrained and two-stage, with VSS/EVPI.

Definitions (Birge & Louveaux, *Introduction to Stochastic Programming*, ch. 4, for maximisation):

* WS (wait-and-see) = E_s[best value knowing scenario s] = the per-scenario plans' expected value.
* RP = the optimum of the here-and-now stochastic program (chance-constrained or two-stage).
* EV plan = the plan made for the mean budget (expected limits and expected response);
  EEV = its expected value *under the stochastic program's own rules*.
* VSS = RP - EEV >= 0 and EVPI = WS - RP >= 0.

How each program reads those words:

* **two-stage**: EEV fixes the EV plan as first stage and lets the recourse cut back per scenario.
* **per-scenario plan**: the decision is taken after the budget is known, so RP = WS and
  EVPI = 0; VSS = WS - EEV(two-stage) is what the day-by-day table gains over deploying the mean
  plan with cut-backs.
* **chance-constrained**: EEV is the EV plan's expected value if it meets the budget with
  probability >= 1 - alpha, and -inf otherwise (an inadmissible plan), so VSS may be +inf.
  Perfect information here still lets one break the budget in scenarios of total probability
  <= alpha, so WS_alpha = sum_s p_s V_s + max {sum p_s (U_s - V_s) y_s : sum p_s y_s <= alpha},
  with V_s the scenario optimum and U_s the optimum with no budget; EVPI = WS_alpha - RP >= 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from engine.result import Status
from engine.stochastic.fixing import improve_counts, rounded_counts, solve_with_fixing
from engine.stochastic.milp import MilpSolution, solve_program
from formulations.assignment import within_limits
from formulations.errors import UsageError
from formulations.stochastic_problem import GroupedProblem, ScenarioSet
from formulations.stochastic_programs import (
    PROB_SLACK,
    LinearProgram,
    chance_program,
    deterministic_program,
    expected_response,
    plan_spend,
    plan_value,
    quantile_limits,
    recourse_counts,
    recourse_moves,
    two_stage_program,
    violation_program,
)

_STATUS_ORDER: tuple[Status, ...] = ("optimal", "feasible", "time_limit", "infeasible", "error")


def _worst(statuses: Sequence[Status]) -> Status:
    return max(statuses, key=_STATUS_ORDER.index) if statuses else "error"


def within(spend: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """Elementwise: spend within the limit as written (formulations.assignment.within_limits,
    the one feasibility check; an infinite limit is no budget)."""
    lim = np.asarray(limits, dtype=np.float64)
    finite = np.isfinite(lim)
    ok = np.ones(np.broadcast(np.asarray(spend), lim).shape, dtype=bool)
    sp = np.broadcast_to(np.asarray(spend, dtype=np.float64), ok.shape)
    lb = np.broadcast_to(lim, ok.shape)
    fin = np.broadcast_to(finite, ok.shape)
    ok[fin] = within_limits(sp[fin], lb[fin])
    return ok


def plan_breach(problem: GroupedProblem, counts: np.ndarray, limits: np.ndarray,
                costs: np.ndarray) -> str | None:
    """How a plan (G, M) breaks its program (every unit placed once, the budgets, the
    capacities), None where it does not: the check every plan passes before it is reported."""
    if np.any(counts < 0) or np.any(counts != np.round(counts)):
        return "counts are not whole non-negative numbers"
    placed = counts.sum(axis=1)
    if np.any(placed != problem.sizes):
        g = int(np.flatnonzero(placed != problem.sizes)[0])
        return (f"group {problem.group_ids[g]!r} has {placed[g]:g} units placed, not "
                f"{problem.sizes[g]}")
    if np.any((counts > 0) & ~problem.valid):
        return "a count sits on an option its group does not have"
    spend = np.einsum("bgm,gm->b", costs, counts)
    over = np.flatnonzero(~within(spend, limits))
    if over.size:
        b = int(over[0])
        return (f"budget {problem.budget_names[b]!r}: spend {spend[b]!r} > limit "
                f"{float(limits[b])!r}")
    cap = np.isfinite(problem.capacities)
    used = counts.sum(axis=0)
    if np.any(used[cap] > problem.capacities[cap]):
        return "a capacity is exceeded"
    return None


@dataclass(frozen=True, eq=False)
class Plan:
    """One deterministic allocation: counts (G, M), its value, spend and lambda per budget."""

    status: Status
    solver: str
    objective: float | None
    bound: float | None
    counts: np.ndarray | None
    limits: np.ndarray
    spend: np.ndarray | None
    lam: np.ndarray | None
    seconds: float

    def mix(self, option_labels: Sequence[str]) -> dict[str, float]:
        """Share of all units on each option."""
        if self.counts is None:
            return {}
        tot = self.counts.sum()
        per = self.counts.sum(axis=0) / (tot if tot > 0 else 1.0)
        return {str(o): float(v) for o, v in zip(option_labels, per, strict=True)}


def solve_at(
    problem: GroupedProblem,
    limits: Sequence[float] | np.ndarray | Mapping[str, float] | float,
    *,
    solver: str = "highs",
    value: np.ndarray | None = None,
    costs: np.ndarray | None = None,
    replicate: int = 0,
    time_limit: float | None = None,
    duals: bool = True,
    fixing: bool = True,
) -> Plan:
    """The optimal plan at given budget limits; lambda from the LP relaxation's budget duals.

    With HiGHS and ``fixing`` (the default) the LP is solved first, its rounding (improved by
    greedy moves) is the starting incumbent and its duals fix counts by reduced cost before the
    MIP (engine.stochastic.fixing): same optimum and proof standard, several times faster on
    cluster programs. ``fixing=False`` solves the plain MIP (kept for side-by-side timing).
    """
    lim = _limits_vector(problem, limits)
    prog = deterministic_program(problem, lim, value=value, costs=costs, replicate=replicate)
    cst = problem.costs[replicate] if costs is None else costs
    lam = None
    seconds = 0.0
    lp = None
    use_fixing = fixing and solver == "highs"
    if duals or use_fixing:
        lp = solve_program(prog.relaxed(), "highs", time_limit=time_limit)
        seconds += lp.seconds
        if duals and lp.row_dual is not None:
            a, b = prog.row_blocks["budget"]
            lam = np.maximum(lp.row_dual[a:b], 0.0)
    if use_fixing and lp is not None and lp.x is not None:
        # LP first: its rounding is an incumbent within one unit per budget row of the LP bound,
        # and its duals fix almost every count (engine.stochastic.fixing); same proof standard
        start = _rounded_incumbent(problem, prog, lp.x, cst, lim)
        sol = solve_with_fixing(prog, lp.row_dual, start, time_limit=time_limit)
    else:
        sol = solve_program(prog, solver, time_limit=time_limit)
    seconds += sol.seconds
    counts = None if sol.x is None else prog.block(sol.x, "n")
    spend = None if counts is None else np.einsum("bgm,gm->b", cst, counts)
    status: Status = sol.status
    if counts is not None and status in ("optimal", "feasible", "time_limit"):
        why = plan_breach(problem, counts, lim, cst)
        if why is not None:
            # a solver's answer that breaks the plan's own rules is an error, never a plan
            status = "error"
    return Plan(status, sol.solver, sol.objective, sol.bound, counts, lim, spend, lam, seconds)


def _rounded_incumbent(
    problem: GroupedProblem, prog: LinearProgram, x_lp: np.ndarray, costs: np.ndarray,
    limits: np.ndarray,
) -> np.ndarray | None:
    """The LP counts rounded down (left-over units on the fallback) if that plan is feasible."""
    n = rounded_counts(prog.block(x_lp, "n"), problem.sizes.astype(np.float64),
                       problem.fallback, problem.valid)
    if np.any(n < 0) or np.any(n.sum(axis=0) > problem.capacities):
        return None
    if not np.all(np.einsum("bgm,gm->b", costs, n) <= limits):
        return None
    n = improve_counts(n, prog.block(prog.c, "n"), costs, problem.valid, limits,
                       problem.capacities)
    return n.reshape(-1)


def _limits_vector(
    problem: GroupedProblem, limits: Sequence[float] | np.ndarray | Mapping[str, float] | float
) -> np.ndarray:
    if isinstance(limits, Mapping):
        unknown = set(limits) - set(problem.budget_names)
        if unknown:
            raise UsageError(
                f"limits: unknown budget(s) {sorted(unknown)}; "
                f"expected {list(problem.budget_names)}"
            )
        return np.array([float(limits.get(n, lim)) for n, lim in
                         zip(problem.budget_names, problem.base_limits, strict=True)])
    arr = np.atleast_1d(np.asarray(limits, dtype=np.float64))
    if arr.shape != (problem.n_budgets,):
        raise UsageError(f"limits: expected {problem.n_budgets} value(s), got {arr.shape[0]}")
    return arr


def mean_budget_plan(
    problem: GroupedProblem, scenarios: ScenarioSet, *, solver: str = "highs",
    time_limit: float | None = None,
) -> Plan:
    """The EV plan: expected limits, expected response."""
    v, c = expected_response(problem, scenarios)
    return solve_at(problem, scenarios.mean_limits(), solver=solver, value=v, costs=c,
                    time_limit=time_limit, duals=False)


def recourse_values(
    problem: GroupedProblem, counts: np.ndarray | None, scenarios: ScenarioSet, *,
    solver: str = "highs", penalty: float = 0.0, time_limit: float | None = None,
    recourse: str = "shares", cutback: str = "fallback",
) -> tuple[np.ndarray, list[Status]]:
    """(S,) value of a fixed first-stage plan after the optimal cut-back in each scenario.

    Each scenario's recourse is independent once the first stage is fixed, so it is solved as a
    one-scenario two-stage program (small), not as one block program. ``counts=None`` leaves the
    first stage free: each scenario's own two-stage optimum (the wait-and-see values).
    """
    out = np.empty(scenarios.n_scenarios)
    statuses: list[Status] = []
    for s in range(scenarios.n_scenarios):
        one = ScenarioSet(np.ones(1), scenarios.limits[s : s + 1], scenarios.response[s : s + 1])
        prog = two_stage_program(problem, one, penalty=penalty, recourse=recourse,
                                 cutback=cutback)
        if counts is not None:
            prog = prog.fixed("n", counts)
        sol = solve_program(prog, solver, time_limit=time_limit)
        statuses.append(sol.status)
        out[s] = -math.inf if sol.objective is None else sol.objective
    return out, statuses


def _scenario_optima(
    problem: GroupedProblem, scenarios: ScenarioSet, *, solver: str, time_limit: float | None,
    duals: bool = True,
) -> list[Plan]:
    return [
        solve_at(problem, scenarios.limits[s], solver=solver,
                 replicate=int(scenarios.response[s]), time_limit=time_limit, duals=duals)
        for s in range(scenarios.n_scenarios)
    ]


def _value(p: Plan) -> float:
    return -math.inf if p.objective is None else p.objective


# --- per-scenario ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PerScenarioPlan:
    """The optimal plan for every scenario (the table operations deploy day by day)."""

    status: Status
    plans: tuple[Plan, ...]
    scenarios: ScenarioSet
    expected_value: float
    mean_plan: Plan
    eev: float
    vss: float
    evpi: float
    option_labels: tuple[str, ...]
    budget_names: tuple[str, ...]
    seconds: float

    def table(self) -> pd.DataFrame:
        """One row per scenario: probability, limits, value, spend, lambda and treatment mix."""
        rows = []
        for s, p in enumerate(self.plans):
            row: dict[str, Any] = {
                "scenario": s, "probability": float(self.scenarios.probability[s]),
                "replicate": int(self.scenarios.response[s]),
            }
            for b, name in enumerate(self.budget_names):
                row[f"limit_{name}"] = float(p.limits[b])
            row["value"] = p.objective
            row["status"] = p.status
            for b, name in enumerate(self.budget_names):
                row[f"spend_{name}"] = None if p.spend is None else float(p.spend[b])
                row[f"lambda_{name}"] = None if p.lam is None else float(p.lam[b])
            for o, share in p.mix(self.option_labels).items():
                row[f"share_{o}"] = share
            rows.append(row)
        return pd.DataFrame(rows)

    def allocation_table(self, group_ids: Sequence[object]) -> pd.DataFrame:
        """Long table scenario x group x option -> count and share of the group."""
        return allocation_frame(
            [p.counts for p in self.plans], group_ids, self.option_labels, self.scenarios,
            self.budget_names,
        )


def cells_frame(
    units: np.ndarray, group_ids: Sequence[object] | np.ndarray, option_labels: Sequence[str]
) -> pd.DataFrame:
    """group, option, units, share (of the group's units): one row per cell of a (G, M) array."""
    g, m = units.shape
    size = units.sum(axis=1, keepdims=True)
    share = np.divide(units, size, out=np.zeros_like(units, dtype=float), where=size > 0)
    return pd.DataFrame({
        "group": np.repeat(np.asarray(group_ids), m),
        "option": np.tile(np.asarray(option_labels, dtype=object), g),
        "units": units.reshape(-1),
        "share": share.reshape(-1),
    })


def allocation_frame(
    counts: Sequence[np.ndarray | None], group_ids: Sequence[object],
    option_labels: Sequence[str], scenarios: ScenarioSet, budget_names: Sequence[str],
) -> pd.DataFrame:
    """scenario, limit_<budget>..., group, option, count, share (of the group's units)."""
    frames = []
    for s, cnt in enumerate(counts):
        if cnt is None:
            continue
        df = cells_frame(cnt, group_ids, option_labels).rename(columns={"units": "count"})
        df["count"] = df["count"].astype(np.int64)
        df.insert(0, "scenario", s)
        for b, name in enumerate(budget_names):
            df.insert(1 + b, f"limit_{name}", float(scenarios.limits[s, b]))
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def per_scenario(
    problem: GroupedProblem, scenarios: ScenarioSet, *, solver: str = "highs",
    time_limit: float | None = None, penalty: float = 0.0,
) -> PerScenarioPlan:
    """Solve every scenario; VSS against the mean plan deployed with cut-backs; EVPI = 0."""
    import time

    t0 = time.perf_counter()
    plans = _scenario_optima(problem, scenarios, solver=solver, time_limit=time_limit)
    ws = float(scenarios.probability @ np.array([_value(p) for p in plans]))
    mean = mean_budget_plan(problem, scenarios, solver=solver, time_limit=time_limit)
    statuses = [p.status for p in plans] + [mean.status]
    eev = -math.inf
    if mean.counts is not None:
        # whole-count cut-backs: the per-scenario plans are whole counts too, so VSS >= 0
        vals, st = recourse_values(problem, mean.counts, scenarios, solver=solver,
                                   penalty=penalty, time_limit=time_limit, recourse="counts")
        statuses += st
        eev = float(scenarios.probability @ vals)
    return PerScenarioPlan(
        status=_worst(statuses), plans=tuple(plans), scenarios=scenarios, expected_value=ws,
        mean_plan=mean, eev=eev, vss=ws - eev, evpi=0.0, option_labels=problem.option_labels,
        budget_names=problem.budget_names, seconds=time.perf_counter() - t0,
    )


# --- chance-constrained ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ChancePlan:
    """One plan meeting the budget with probability >= 1 - alpha."""

    status: Status
    method: str
    """"quantile" (the reduction to one budget quantile) or "indicators" (binary z_s, big-M)."""
    alpha: float
    objective: float | None
    bound: float | None
    counts: np.ndarray | None
    probability_met: float
    met: np.ndarray | None
    spend: np.ndarray | None
    quantile: np.ndarray | None
    mean_plan: Plan
    mean_plan_probability: float
    eev: float
    ws: float
    vss: float
    evpi: float
    seconds: float
    solver: str
    detail: dict[str, Any] = field(default_factory=dict)


def chance_constrained(
    problem: GroupedProblem,
    scenarios: ScenarioSet,
    alpha: float,
    *,
    method: str = "auto",
    solver: str = "highs",
    time_limit: float | None = None,
    report: bool = True,
) -> ChancePlan:
    """Maximise expected value; budgets hold in scenarios of total probability >= 1 - alpha.

    ``method``: "quantile" plans for the budget quantile (only where the reduction is exact, see
    ``quantile_limits``), "indicators" solves the integer program with z_s, "auto" picks the
    quantile where it applies. ``report=False`` skips VSS/EVPI (they need S + S extra solves).
    """
    import time

    if method not in ("auto", "quantile", "indicators"):
        raise UsageError(f"method: expected 'auto', 'quantile' or 'indicators', got {method!r}")
    t0 = time.perf_counter()
    q = quantile_limits(scenarios, alpha)
    if method == "quantile" and q is None:
        raise UsageError(
            "method 'quantile': the chance constraint reduces to a budget quantile only where "
            "costs do not vary by scenario and scenario limits are ordered; use 'indicators'"
        )
    use_q = q is not None and method in ("auto", "quantile")
    detail: dict[str, Any] = {}
    status: Status
    if use_q:
        assert q is not None
        plan = solve_at(problem, q, solver=solver, replicate=int(scenarios.response[0]),
                        time_limit=time_limit, duals=False)
        status, objective, bound, counts, name = (plan.status, plan.objective, plan.bound,
                                                  plan.counts, plan.solver)
    else:
        prog = chance_program(problem, scenarios, alpha)
        sol: MilpSolution = solve_chance_program(prog, scenarios, alpha, solver=solver,
                                                 time_limit=time_limit)
        status, objective, bound, name = sol.status, sol.objective, sol.bound, sol.solver
        counts = None if sol.x is None else prog.block(sol.x, "n")
        detail = dict(sol.detail)
        detail.update(columns=prog.n_cols, rows=prog.n_rows)
    met = spend = None
    prob_met = 0.0
    if counts is not None:
        spend = plan_spend(problem, counts, scenarios)
        met = np.all(within(spend, scenarios.limits), axis=1)
        prob_met = float(scenarios.probability[met].sum())
        # both methods maximise the expected value; report it the same way
        objective = float(scenarios.probability @ plan_value(problem, counts, scenarios))
        if prob_met < 1.0 - alpha - PROB_SLACK and status in ("optimal", "feasible",
                                                              "time_limit"):
            # the solver counted scenarios the plan breaks (its tolerance on the big-M rows):
            # the chance constraint does not hold, so this is no plan of the program
            detail["message"] = (
                f"the plan meets the budgets with probability {prob_met:.6g} < 1 - alpha = "
                f"{1.0 - alpha:.6g} once each scenario is checked as written")
            status = "error"
    mean = mean_budget_plan(problem, scenarios, solver=solver, time_limit=time_limit)
    mean_prob, eev, ws = 0.0, -math.inf, math.nan
    statuses = [status, mean.status]
    if mean.counts is not None:
        mspend = plan_spend(problem, mean.counts, scenarios)
        mean_met = np.all(within(mspend, scenarios.limits), axis=1)
        mean_prob = float(scenarios.probability[mean_met].sum())
        if mean_prob >= 1.0 - alpha - PROB_SLACK:
            eev = float(scenarios.probability @ plan_value(problem, mean.counts, scenarios))
    if report:
        ws, st = _ws_alpha(problem, scenarios, alpha, solver=solver, time_limit=time_limit)
        statuses += st
    rp = -math.inf if objective is None else objective
    return ChancePlan(
        status=status if status != "optimal" else _worst(statuses), method="quantile" if use_q
        else "indicators", alpha=alpha, objective=objective, bound=bound, counts=counts,
        probability_met=prob_met, met=met, spend=spend, quantile=q, mean_plan=mean,
        mean_plan_probability=mean_prob, eev=eev, ws=ws,
        vss=math.inf if eev == -math.inf else rp - eev,
        evpi=ws - rp if report else math.nan, seconds=time.perf_counter() - t0, solver=name,
        detail=detail,
    )


def chance_incumbent(
    prog: LinearProgram, scenarios: ScenarioSet, alpha: float, *,
    time_limit: float | None = None,
) -> np.ndarray | None:
    """A feasible x for ``chance_program``: break the lowest-limit scenarios of every replicate
    evenly, then solve the plan with those indicators fixed (a small deterministic MIP).

    Scenarios are broken in order of their position within their replicate (the probability
    of that replicate's scenarios with limits up to theirs), so each replicate loses a prefix
    of its sorted limits (consistent with the order cuts) while the total broken probability
    stays <= alpha. None where the fixed program has no solution.
    """
    s = scenarios.n_scenarios
    position = np.empty(s)
    for r in np.unique(scenarios.response):
        idx = np.flatnonzero(scenarios.response == r)
        order = idx[np.lexsort(scenarios.limits[idx].T[::-1])]
        p = scenarios.probability[order]
        position[order] = np.cumsum(p) / max(float(p.sum()), 1e-300)
    z = np.ones(s)
    spent = 0.0
    for i in np.lexsort((np.arange(s), position)):
        if spent + scenarios.probability[i] > alpha + PROB_SLACK:
            break
        spent += scenarios.probability[i]
        z[i] = 0.0
    sol = solve_program(prog.fixed("z", z), "highs", time_limit=time_limit)
    return sol.x if sol.x is not None else None


def solve_chance_program(
    prog: LinearProgram, scenarios: ScenarioSet, alpha: float, *, solver: str = "highs",
    time_limit: float | None = None,
) -> MilpSolution:
    """The chance-constrained MIP; with HiGHS, started from ``chance_incumbent`` (fewer nodes:
    the SAA benchmark's incumbent is optimal and B&B only proves it)."""
    if solver != "highs":
        return solve_program(prog, solver, time_limit=time_limit)
    import time

    t0 = time.perf_counter()
    start = chance_incumbent(prog, scenarios, alpha,
                             time_limit=None if time_limit is None else 0.3 * time_limit)
    left = None if time_limit is None else max(time_limit - (time.perf_counter() - t0), 1e-3)
    sol = solve_program(prog, solver, time_limit=left, incumbent=start)
    return replace(sol, seconds=time.perf_counter() - t0)


def _ws_alpha(
    problem: GroupedProblem, scenarios: ScenarioSet, alpha: float, *, solver: str,
    time_limit: float | None,
) -> tuple[float, list[Status]]:
    """Perfect-information value when scenarios of probability <= alpha may break the budget."""
    fit = _scenario_optima(problem, scenarios, solver=solver, time_limit=time_limit, duals=False)
    # U_s depends only on the replicate: solve once per replicate
    free: dict[int, Plan] = {}
    for r in np.unique(scenarios.response):
        free[int(r)] = solve_at(problem, np.full(problem.n_budgets, np.inf), solver=solver,
                                replicate=int(r), time_limit=time_limit, duals=False)
    v = np.array([_value(p) for p in fit])
    u = np.array([_value(free[int(r)]) for r in scenarios.response])
    forced = ~np.isfinite(v)
    # a scenario no plan fits must be among those broken; it then earns U_s
    base_v = np.where(forced, 0.0, v)
    statuses: list[Status] = [p.status for p in fit if p.status != "infeasible"]
    statuses += [p.status for p in free.values()]
    knap = solve_program(
        violation_program(scenarios.probability, u - base_v, alpha, forced), solver
    )
    statuses.append(knap.status)
    if knap.objective is None:
        return -math.inf, statuses
    return float(scenarios.probability @ base_v) + knap.objective, statuses


# --- two-stage ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TwoStagePlan:
    """First-stage allocation and the per-scenario cut-backs."""

    status: Status
    objective: float | None
    bound: float | None
    first_stage: np.ndarray | None
    recourse: np.ndarray | None
    """(S, G, M) realised units per cell after the cut-back in each scenario (fractional where
    the recourse is ``"shares"``: that many of the cell's units, drawn at random)."""
    scenario_values: np.ndarray | None
    mean_plan: Plan
    eev: float
    ws: float
    vss: float
    evpi: float
    seconds: float
    solver: str
    detail: dict[str, Any] = field(default_factory=dict)


def two_stage(
    problem: GroupedProblem,
    scenarios: ScenarioSet,
    *,
    penalty: float = 0.0,
    recourse: str = "shares",
    cutback: str = "fallback",
    solver: str = "highs",
    time_limit: float | None = None,
    report: bool = True,
) -> TwoStagePlan:
    """First stage before the budget is known, optimal cut-back per scenario; VSS and EVPI.

    ``recourse``: ``"shares"`` (default; the cut-back is a continuous amount of each cell) or
    ``"counts"`` (whole units; a much harder MILP, see formulations.stochastic_programs).
    ``cutback``: ``"fallback"`` (default; units go back to the group's cheapest option) or
    ``"cheaper"`` (down to any cheaper option, e.g. a smaller coupon). EEV and WS follow the same
    rules, so VSS >= 0 and EVPI >= 0 hold for every combination.
    """
    import time

    t0 = time.perf_counter()
    prog = two_stage_program(problem, scenarios, penalty=penalty, recourse=recourse,
                             cutback=cutback)
    sol = solve_program(prog, solver, time_limit=time_limit)
    first = rec = svals = None
    if sol.x is not None:
        first = prog.block(sol.x, "n")
        rec = recourse_counts(prog, problem, sol.x)
        v = problem.value[scenarios.response]
        svals = np.einsum("sgm,sgm->s", v, rec) - penalty * recourse_moves(prog, sol.x)
    statuses: list[Status] = [sol.status]
    mean = mean_budget_plan(problem, scenarios, solver=solver, time_limit=time_limit)
    statuses.append(mean.status)
    eev, ws = -math.inf, math.nan
    if report:
        if mean.counts is not None:
            vals, st = recourse_values(problem, mean.counts, scenarios, solver=solver,
                                       penalty=penalty, time_limit=time_limit, recourse=recourse,
                                       cutback=cutback)
            statuses += st
            eev = float(scenarios.probability @ vals)
        if recourse == "counts":
            # knowing the scenario, the best whole-count plan is never cut back
            fit = _scenario_optima(problem, scenarios, solver=solver, time_limit=time_limit,
                                   duals=False)
            statuses += [p.status for p in fit]
            ws = float(scenarios.probability @ np.array([_value(p) for p in fit]))
        else:
            # with shares, knowing the scenario still allows a fractional last cell, so WS is
            # the one-scenario two-stage program (>= the whole-count optimum)
            ws_vals, st = recourse_values(problem, None, scenarios, solver=solver,
                                          penalty=penalty, time_limit=time_limit,
                                          recourse="shares", cutback=cutback)
            statuses += st
            ws = float(scenarios.probability @ ws_vals)
    rp = -math.inf if sol.objective is None else sol.objective
    detail = dict(sol.detail)
    detail.update(columns=prog.n_cols, rows=prog.n_rows, solve_seconds=sol.seconds,
                  recourse=recourse, cutback=cutback)
    return TwoStagePlan(
        status=sol.status if sol.status != "optimal" else _worst(statuses),
        objective=sol.objective, bound=sol.bound, first_stage=first, recourse=rec,
        scenario_values=svals, mean_plan=mean, eev=eev, ws=ws,
        vss=rp - eev if report else math.nan, evpi=ws - rp if report else math.nan,
        seconds=time.perf_counter() - t0, solver=sol.solver, detail=detail,
    )
