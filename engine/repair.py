"""Primal repair and fill of an instance's assignment, and every unit's cheapest option.

There is one repair and one fill in the project, engine.dual.improve's, on the dense dual
arrays (capacities are rows there); these take and return instance assignments. Both hold
every budget to its target (formulations.assignment.target_limits), the limit every solver aims
at, and work in vectorised rounds with no Python loop per unit.
"""

from __future__ import annotations

import numpy as np

from engine.dual import improve
from engine.dual.arrays import DualArrays, dual_arrays
from formulations.instance import Instance


def _weights(instance: Instance, multipliers: np.ndarray | None) -> np.ndarray:
    limits = instance.limits
    if multipliers is not None and np.any(multipliers > 0):
        w = np.asarray(multipliers, dtype=np.float64).copy()
        w[w <= 0] = 1e-12
        return w
    return 1.0 / np.maximum(np.abs(limits), 1e-12)


def repair(
    instance: Instance,
    assignment: np.ndarray,
    *,
    multipliers: np.ndarray | None = None,
    max_rounds: int = 200,
) -> np.ndarray:
    """Downgrade units until every budget and capacity holds; returns a new assignment.

    The one repair of the project (engine.dual.improve.repair, on the instance's dual arrays,
    where capacities are rows): moves are chosen by value lost per unit of weighted saving on
    the violated rows (weights: the multipliers where given, else 1/limit). If no downgrade is
    left the result may still break a row; callers check (engine.finalize does).
    """
    arr = dual_arrays(instance)
    weights = _row_weights(arr, multipliers)
    cols = improve.repair(arr, arr.columns(np.asarray(assignment, dtype=np.int64)),
                          weights=weights, max_rounds=max_rounds)
    return arr.assignment(cols)


def _row_weights(arr: DualArrays, multipliers: np.ndarray | None) -> np.ndarray | None:
    """Budget multipliers extended to every dual row (capacity rows: their own 1 / limit)."""
    if multipliers is None or not np.any(np.asarray(multipliers) > 0):
        return None
    w = 1.0 / np.maximum(np.abs(arr.limits), 1e-12)
    m = np.asarray(multipliers, dtype=np.float64)
    w[: m.size] = np.where(m > 0, m, 1e-12)
    return w


def fill(
    instance: Instance,
    assignment: np.ndarray,
    *,
    multipliers: np.ndarray | None = None,
    max_rounds: int = 50,
) -> np.ndarray:
    """Spend leftover budget on upgrades, best value gain per weighted extra cost first.

    The one fill of the project (engine.dual.improve.fill, on the instance's dual arrays).
    Assumes ``assignment`` is feasible; the result stays feasible and is never worse.
    """
    arr = dual_arrays(instance)
    cols = improve.fill(arr, arr.columns(np.asarray(assignment, dtype=np.int64)),
                        weights=_row_weights(arr, multipliers), max_rounds=max_rounds)
    return arr.assignment(cols)


def cheapest(instance: Instance, multipliers: np.ndarray | None = None) -> np.ndarray:
    """Per unit, the option of least weighted cost (the null option for at-most-one)."""
    if instance.choose == "at-most-one":
        return np.full(instance.n_units, -1, dtype=np.int64)
    dense = instance.dense()
    w = _weights(instance, multipliers)
    wc = np.tensordot(w, dense.costs, axes=1) if instance.n_budgets else np.zeros(dense.value.shape)
    wc = np.where(dense.valid, wc, np.inf)
    # ties broken towards the higher value
    key = np.where(dense.valid, dense.value, -np.inf)
    best = np.lexsort((-key, wc), axis=-1)[:, 0] if wc.size else np.zeros(0, np.int64)
    return best.astype(np.int64)
