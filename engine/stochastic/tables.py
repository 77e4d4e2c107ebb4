"""Plans as tables: a one-line summary and the long allocation table operations deploy.

The allocation table has one row per (stage, scenario, group, option) with the units and the
share of the group's units: ``stage`` is "plan" (one plan for every scenario: chance-constrained),
"scenario" (the per-scenario plans, or the two-stage recourse after the cut-back) or
"first stage" (the two-stage plan fixed before the budget is known). Units are fractional where a
two-stage recourse is ``"shares"``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from engine.stochastic.plans import ChancePlan, PerScenarioPlan, TwoStagePlan, cells_frame
from formulations.stochastic_problem import GroupedProblem, ScenarioSet

AnyPlan = PerScenarioPlan | ChancePlan | TwoStagePlan


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def plan_summary(plan: AnyPlan) -> dict[str, Any]:
    """program, status, value, bound, gap, VSS, EVPI, WS, EEV, seconds (+ program extras)."""
    value: float | None
    bound: float | None
    if isinstance(plan, PerScenarioPlan):
        value, bound = plan.expected_value, None
        out: dict[str, Any] = {"program": "per-scenario", "status": plan.status}
        ws: float | None = plan.expected_value
    elif isinstance(plan, ChancePlan):
        value, bound = plan.objective, plan.bound
        out = {"program": "chance-constrained", "status": plan.status, "alpha": plan.alpha,
               "method": plan.method, "probability_met": plan.probability_met}
        ws = plan.ws
    else:
        value, bound = plan.objective, plan.bound
        out = {"program": "two-stage", "status": plan.status,
               "recourse": plan.detail.get("recourse"), "cutback": plan.detail.get("cutback")}
        ws = plan.ws
    gap = None
    if value is not None and bound is not None and math.isfinite(value):
        gap = (bound - value) / max(1.0, abs(bound))
    out.update(value=_finite(value), bound=_finite(bound), gap=gap, vss=_finite(plan.vss),
               evpi=_finite(plan.evpi), ws=_finite(ws), eev=_finite(plan.eev),
               seconds=float(plan.seconds))
    if not math.isfinite(plan.vss) and plan.vss > 0:
        out["vss"] = "inf"  # the mean-budget plan breaks the chance constraint
    return out


def _frame(stage: str, scenario: int | None, probability: float | None,
           limits: np.ndarray | None, units: np.ndarray, problem: GroupedProblem) -> pd.DataFrame:
    df = cells_frame(units.astype(np.float64), problem.group_ids, problem.option_labels)
    # + 0.0 turns the solver's -0.0 into 0.0 in the written table
    df["units"] += 0.0
    df["share"] += 0.0
    df.insert(0, "stage", stage)
    df.insert(1, "scenario", pd.Series([scenario] * len(df), dtype="Int64"))
    df.insert(2, "probability", probability)
    for b, name in enumerate(problem.budget_names):
        df.insert(3 + b, f"limit_{name}", np.nan if limits is None else float(limits[b]))
    return df[problem.valid.reshape(-1)]


def allocation_table(plan: AnyPlan, problem: GroupedProblem,
                     scenarios: ScenarioSet) -> pd.DataFrame:
    """The long table described in the module docstring (empty where the plan has none)."""
    frames: list[pd.DataFrame] = []

    def per_scenario(units: Sequence[np.ndarray | None]) -> None:
        for s, u in enumerate(units):
            if u is not None:
                frames.append(_frame("scenario", s, float(scenarios.probability[s]),
                                     scenarios.limits[s], np.asarray(u, dtype=float), problem))

    if isinstance(plan, PerScenarioPlan):
        per_scenario([p.counts for p in plan.plans])
    elif isinstance(plan, ChancePlan):
        if plan.counts is not None:
            frames.append(_frame("plan", None, None, None, np.asarray(plan.counts, dtype=float),
                                 problem))
    else:
        if plan.first_stage is not None:
            frames.append(_frame("first stage", None, None, None,
                                 np.asarray(plan.first_stage, dtype=float), problem))
        if plan.recourse is not None:
            per_scenario(list(plan.recourse))
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)
