"""Core polish: re-solve, as an LP, the units whose Lagrangian choice is uncertain.

Near the optimal multipliers most units' best cell beats their second best by a wide margin;
the units whose margin is among the ``core_size`` smallest, with their cells within that margin
(in reduced cost), form a small LP over the residual limits (engine/dual/core.py) that HiGHS
solves fast. A basic LP optimum has at most one fractional unit per dual row. Two roundings are
tried: the fractional units take their cheapest (lam-weighted) cell of the LP's support; and
the completion, a small MIP over the fractional units and the most uncertain ones with the rest
fixed at the LP's cells (on MMKP-style instances it halves the gap of the first). Each is
repaired and filled; the better one is kept. Outside the core every
unit keeps its cell of the incumbent. This turns the
Lagrangian choice (one vertex of the dual's subdifferential, often unbalanced across budgets)
into an allocation that uses every budget well; it is a heuristic unless the core is complete
(for the proof see engine/dual/exact.py).
"""

from __future__ import annotations

import time

import numpy as np

from engine.dual.arrays import DualArrays
from engine.dual.core import Core, build_core, reduced_costs, second_gap_of
from engine.dual.improve import fill, repair, row_slack


def core_polish(
    arr: DualArrays,
    lam: np.ndarray,
    incumbent: np.ndarray,
    *,
    core_size: int = 5_000,
    time_limit: float = 10.0,
    gap: float = 1e-7,
) -> tuple[np.ndarray, dict[str, float]]:
    """A feasible allocation at least as good as ``incumbent`` (which must be feasible)."""
    t0 = time.perf_counter()
    n = arr.n_units
    d = reduced_costs(arr, lam)
    g2 = second_gap_of(d)
    if n > core_size:
        tau = float(np.partition(g2, core_size)[core_size])
    else:
        tau = float(np.max(g2[np.isfinite(g2)], initial=0.0))
    allowed = d >= -tau
    del d
    inc = np.asarray(incumbent, dtype=np.int64)
    allowed[np.arange(n), inc] = True  # the incumbent stays reachable: never worse
    units = np.flatnonzero(allowed.sum(axis=1) >= 2)
    # the core's rows alone, under what the units outside leave (as the Dask backend gathers
    # them): the completion MIP then builds over these rows, not over every unit
    sub = core_rows(arr, units, inc)
    core = build_core(sub, allowed[units], inc[units])
    info = {"core_units": float(core.units.size), "core_tau": tau}
    best = inc
    best_obj = arr.objective(inc)
    for sub_cols in core_candidates(sub, core, lam, g2[units], time_limit, t0, info):
        cols = inc.copy()
        cols[units] = sub_cols
        cols = repair(arr, cols, weights=lam)
        if np.all(row_slack(arr, cols) >= 0):
            cols = fill(arr, cols, weights=lam, max_rounds=20)
            obj = arr.objective(cols)
            if obj > best_obj:
                best, best_obj = cols, obj
    info["core_seconds"] = time.perf_counter() - t0
    return best, info


def core_rows(arr: DualArrays, units: np.ndarray, incumbent: np.ndarray) -> DualArrays:
    """The rows ``units`` of ``arr``, with every limit less what the other units use at
    ``incumbent``."""
    out = np.ones(arr.n_units, dtype=bool)
    out[units] = False
    ro = np.flatnonzero(out)
    used = arr.costs[:, ro, incumbent[ro]].sum(axis=1) if ro.size else np.zeros(arr.n_rows)
    return DualArrays(
        value=arr.value[units], costs=arr.costs[:, units],
        valid=None if arr.valid is None else arr.valid[units], limits=arr.limits - used,
        row_names=arr.row_names, n_budgets=arr.n_budgets, null_column=arr.null_column,
    )


def core_candidates(
    arr: DualArrays, core: Core, lam: np.ndarray, margin: np.ndarray, time_limit: float,
    t0: float, info: dict[str, float],
) -> list[np.ndarray]:
    """Allocations of ``arr`` from the core: its LP relaxation rounded, and the completion MIP
    around the fractional units where it finishes in time (``info["completion"] = 1``). Not yet
    repaired or filled. ``margin`` (N,) ranks the units the completion may change; ``t0`` is
    when the polish started, for its share of ``time_limit``."""
    from engine.backends.highs import solve_lp_relaxation

    if not core.units.size:
        return []
    x = solve_lp_relaxation(core.instance, time_limit=max(time_limit, 0.1)).x
    if x is None:
        return []
    x = np.asarray(x)
    candidates = [core.columns(_round_lp(core, x, lam))]
    left = time_limit - (time.perf_counter() - t0)
    done = _complete_lp(arr, core, x, margin, time_limit=min(1.0, 0.5 * left))
    if done is not None:
        candidates.append(done)
        info["completion"] = 1.0
    return candidates


#: units beyond the fractional ones that the completion MIP may change (the most uncertain:
#: smallest margin between their best and second-best cell at the multipliers)
COMPLETION_EXTRA = 20


def _complete_lp(
    arr: DualArrays, core: object, x: np.ndarray, margin: np.ndarray, *, time_limit: float,
) -> np.ndarray | None:
    """The LP's integral part kept, the rest chosen exactly: a small MIP (HiGHS) over the
    units the LP leaves fractional (at most one per row in a basic solution) and the
    COMPLETION_EXTRA most uncertain core units, every one of their cells allowed, the other
    units fixed at the LP's cell, under the rows' leftover. None where it finds nothing (or
    the time is too short to try)."""
    from engine.dual.core import Core
    from engine.options import parse_options
    from engine.registry import get_backend

    assert isinstance(core, Core)
    if time_limit < 0.05:
        return None
    inst = core.instance
    starts = inst.offsets[:-1]
    top = np.maximum.reduceat(x, starts)
    first_top = np.minimum.reduceat(
        np.where(x >= np.repeat(top, inst.counts) - 1e-12, np.arange(x.size), x.size), starts)
    lp_cols = core.fixed_cols.copy()
    lp_cols[core.units] = core.cells[first_top]
    free = np.zeros(arr.n_units, dtype=bool)
    free[core.units[top < 1.0 - 1e-7]] = True
    by_margin = core.units[np.argsort(margin[core.units], kind="stable")]
    free[by_margin[:COMPLETION_EXTRA]] = True
    if not free.any():
        return None
    allowed = np.zeros(arr.value.shape, dtype=bool)
    allowed[np.arange(arr.n_units), lp_cols] = True
    allowed[free] = True if arr.valid is None else arr.valid[free]
    sub = build_core(arr, allowed, lp_cols, name="completion")
    if sub.units.size == 0:
        return None
    highs = get_backend("highs")
    # a proof is not needed here: a small gap lets HiGHS stop as soon as it has a good answer
    res = highs.solve(sub.instance, time_limit=time_limit,
                      options=parse_options(highs.options_type, "highs", {"gap": 1e-5}))
    if res.assignment is None:
        return None
    return sub.columns(res.assignment)


def _round_lp(core: object, x: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Per core unit the cell with the largest x; fractional units their cheapest support cell."""
    from engine.dual.core import Core

    assert isinstance(core, Core)
    inst = core.instance
    starts = inst.offsets[:-1]
    counts = inst.counts
    best = np.maximum.reduceat(x, starts)
    unit = inst.unit_of_row
    local = inst.local_index
    frac = best < 1.0 - 1e-7
    wc = lam @ inst.costs
    key_whole = np.where(x >= np.repeat(best, counts) - 1e-12, 0.0, 1.0)
    key_frac = np.where(x > 1e-9, wc, np.inf)
    key = np.where(np.repeat(frac, counts), key_frac, key_whole)
    order = np.lexsort((local, key, unit))
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return local[order[first]].astype(np.int64)
