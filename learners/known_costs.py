"""Costs a model does not learn because the data already knows them.

A ``[costs]`` table gives every arm's cost; otherwise an arm whose every training row has the
same cost (a control that costs nothing, a flat fee) has that cost. Predicting a learned,
noisy cost there would only add error: a control predicted to cost 0.05 makes every coupon look
0.05 cheaper than it is in the incremental instance.
"""

from __future__ import annotations

import numpy as np

from formulations.experiment_data import ExperimentData


def fixed_arm_costs(data: ExperimentData) -> np.ndarray | None:
    """(M,) the cost of every arm whose cost is known, NaN where it must be learned; None when
    none is known. Known: a ``[costs]`` table, or an arm whose every training row has the same
    cost (a control that costs nothing, a flat fee)."""
    if data.option_costs is not None:
        return np.array([data.option_costs[a] for a in data.arms], dtype=np.float64)
    lo = np.full(data.n_arms, np.inf)
    hi = np.full(data.n_arms, -np.inf)
    np.minimum.at(lo, data.arm, data.cost)
    np.maximum.at(hi, data.arm, data.cost)
    fixed = np.where(lo == hi, lo, np.nan)
    return None if np.all(np.isnan(fixed)) else fixed


def all_fixed(fixed: np.ndarray | None) -> bool:
    return fixed is not None and not np.any(np.isnan(fixed))


def apply_fixed(cost: np.ndarray, fixed: np.ndarray | None) -> np.ndarray:
    """Predicted costs with the known arms' costs put in."""
    if fixed is None:
        return cost
    return np.where(np.isnan(fixed)[None, :], cost, fixed[None, :])


def cost_floor(data: ExperimentData) -> np.ndarray:
    """(M,) the smallest cost seen in training for every arm (learned costs stay above it)."""
    lo = np.full(data.n_arms, np.inf)
    np.minimum.at(lo, data.arm, data.cost)
    return np.where(np.isfinite(lo), lo, -np.inf)
