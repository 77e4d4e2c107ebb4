"""One budget: the exact LP through the hulls, its multiplier, an integer allocation, a fill.

1. Upper hull of every unit (engine/dual/kernels.py).
2. Start every unit at its hull start; take increments in decreasing efficiency until the budget
   runs out (weighted selection, engine/dual/select.py). The crossing increment's efficiency is
   lam*; the LP value is the value taken plus the fraction of the crossing increment.
3. Integer allocation: every taken increment, the fractional one dropped (feasible, within one
   increment's value of the LP).
4. Fill the leftover budget with any move that fits (engine/dual/improve.py).
5. The certificate: the Lagrangian bound ``lam* B + sum_i max_j (v_ij - lam* c_ij)``, computed
   directly from the data (valid for any lam >= 0 by weak duality); it equals the LP value.

With the compiled kernels (engine/dual/compiled.py) steps 1-3 run on a compact hull
(engine/dual/compact.py: a mask per unit instead of the increment arrays, the rounding done
in the selection's last pass); ``info["hull"]`` says which ("compact" or "stored"). Both give
the same bits.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.dual.arrays import DualArrays
from engine.dual.compact import compact_hull, select_compact
from engine.dual.improve import fill
from engine.dual.kernels import Hulls, lagrangian_choice, sorted_choice_at, upper_hulls
from engine.dual.select import Critical, select_critical


@dataclass(frozen=True, eq=False)
class OneBudgetSolution:
    """The result of :func:`solve_one_budget` in dense columns (not yet a SolveResult)."""

    feasible: bool
    cols: np.ndarray | None
    objective: float | None
    bound: float | None
    lam: float
    lp_value: float | None
    timings: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def lp_columns(hulls: Hulls, crit: Critical) -> np.ndarray:
    """Integer columns at the critical point: every taken increment, the fractional one not."""
    col = sorted_choice_at(hulls, crit.above)
    if crit.taken.size:
        width = hulls.efficiency.shape[1]
        unit, step = np.divmod(crit.taken, width)
        np.maximum.at(col, unit, step + 1)
    return hulls.option_of(col)


def solve_one_budget(
    arr: DualArrays,
    *,
    method: str = "bracket",
    improve: bool = True,
    hulls: Hulls | None = None,
) -> OneBudgetSolution:
    """Solve the LP of a one-row instance exactly and round it (see the module docstring)."""
    if arr.n_rows != 1:
        raise ValueError(f"solve_one_budget: expected one dual row, got {arr.n_rows}")
    timings: dict[str, float] = {}
    t = time.perf_counter()
    value, cost = arr.value, arr.costs[0]
    limit = float(arr.limits[0])
    compact = None
    if hulls is None and method == "bracket":
        # with the compiled kernels: masks instead of the increment arrays (engine/dual/compact)
        compact = compact_hull(value, cost, arr.valid)
    if compact is not None:
        timings["hull"] = time.perf_counter() - t
        base_cost = float(compact.start_cost.sum())
        base_value = float(compact.start_value.sum())
        if base_cost > limit:
            return OneBudgetSolution(False, None, None, None, 0.0, None, timings,
                                     {"cheapest_spend": base_cost})
        t = time.perf_counter()
        found = select_compact(compact, max(limit - base_cost, 0.0))
        if found is not None:
            # the selection's last pass also chose every unit's column: no "round" phase
            crit_c, cols = found
            timings["select"] = time.perf_counter() - t
            crit = dataclasses.replace(crit_c, taken=crit_c.taken[:0])
            lp_value = base_value + crit_c.value_taken
            del compact
            return _finish(arr, cols, crit, lp_value, limit, improve, method, timings,
                           "compact")
        del compact  # every increment may fit: the stored hulls' own sums decide
        t = time.perf_counter()
    if hulls is None:
        hulls = upper_hulls(value, cost, arr.valid, keep_value=False)
    timings["hull"] = timings.get("hull", 0.0) + time.perf_counter() - t
    base_cost = float(hulls.start_cost.sum())
    base_value = float(hulls.start_value.sum())
    if base_cost > limit:
        # the cheapest option of every unit already breaks the budget
        return OneBudgetSolution(False, None, None, None, 0.0, None, timings,
                                 {"cheapest_spend": base_cost})
    t = time.perf_counter()
    crit = select_critical(hulls.efficiency, hulls.d_cost, hulls.d_value,
                           max(limit - base_cost, 0.0), method=method)
    timings["select"] = time.perf_counter() - t
    lp_value = base_value + crit.value_taken
    t = time.perf_counter()
    cols = lp_columns(hulls, crit)
    # the hulls are the largest arrays: let them go before the fill and the evaluation
    del hulls
    crit = dataclasses.replace(crit, taken=crit.taken[:0])
    timings["round"] = time.perf_counter() - t
    return _finish(arr, cols, crit, lp_value, limit, improve, method, timings, "stored")


def _finish(
    arr: DualArrays, cols: np.ndarray, crit: Critical, lp_value: float, limit: float,
    improve: bool, method: str, timings: dict[str, float], hull: str,
) -> OneBudgetSolution:
    """The fill, the bound and the solution from the integer columns at the critical point."""
    value = arr.value
    t = time.perf_counter()
    lam_v = np.array([crit.lam])
    stats: dict[str, float] = {}
    if improve:
        cols = fill(arr, cols, weights=np.array([max(crit.lam, 1e-12)]), bound_lam=lam_v,
                    stats=stats)
    timings["fill+bound"] = time.perf_counter() - t
    if "lagrangian" not in stats:
        t = time.perf_counter()
        stats["lagrangian"] = lagrangian_choice(value, arr.costs, crit.lam).lagrangian
        timings["bound"] = time.perf_counter() - t
    bound = crit.lam * limit + stats["lagrangian"]
    objective = arr.objective(cols)
    info = {
        "lp_value": lp_value, "lambda": crit.lam, "bracket_size": crit.bracket_size,
        "selection_passes": crit.passes, "selection": method, "hull": hull,
    }
    return OneBudgetSolution(True, cols, objective, bound, crit.lam, lp_value, timings, info)
