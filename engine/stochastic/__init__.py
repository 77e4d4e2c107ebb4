"""Stochastic allocation: per-scenario, chance-constrained and two-stage programs."""

from engine.stochastic.milp import MilpSolution, solve_program
from engine.stochastic.plans import (
    ChancePlan,
    PerScenarioPlan,
    Plan,
    TwoStagePlan,
    chance_constrained,
    mean_budget_plan,
    per_scenario,
    solve_at,
    two_stage,
)

__all__ = [
    "ChancePlan",
    "MilpSolution",
    "PerScenarioPlan",
    "Plan",
    "TwoStagePlan",
    "chance_constrained",
    "mean_budget_plan",
    "per_scenario",
    "solve_at",
    "solve_program",
    "two_stage",
]
