"""What-if over budgets: many limits solved from one set of hulls and one global order.

For one budget the LP value is concave and piecewise linear in the limit B, with breakpoints at
the prefix sums of the hull increments taken in decreasing efficiency, and lam*(B) is the
efficiency of the increment being taken (non-increasing in B). One sort gives the whole
frontier (:func:`lp_frontier`), and every budget of a sweep is a prefix of the same order plus a
short fill (:func:`budget_sweep`). For several budgets or capacities the sweep re-solves each
point with the level bundle, warm-started from the previous point's multipliers.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.dual.arrays import DualArrays, dual_arrays
from engine.dual.improve import fill as fill_any
from engine.dual.kernels import Hulls, d_value_of, upper_hulls
from engine.finalize import build_result
from engine.result import SolveResult
from formulations.assignment import slack_tolerance
from formulations.errors import UsageError
from formulations.instance import Instance


@dataclass(frozen=True, eq=False)
class LPFrontier:
    """The exact LP value of a one-budget instance as a function of the budget.

    ``budget[t]``, ``value[t]``: the breakpoints (t = 0 is every unit at its hull start, the
    last is every unit at its most valuable option); between breakpoints the LP value is linear.
    ``lam[t]`` is the slope on the segment from breakpoint t to t+1 (the optimal multiplier for
    budgets strictly inside it), so ``lam`` has one entry fewer and is non-increasing. Below
    ``budget[0]`` the instance is infeasible; above ``budget[-1]`` the value stays ``value[-1]``
    with multiplier 0.
    """

    budget: np.ndarray
    value: np.ndarray
    lam: np.ndarray

    def value_at(self, limit: float | np.ndarray) -> np.ndarray:
        """LP value at the given budget(s) (nan below the feasible range)."""
        b = np.asarray(limit, dtype=np.float64)
        out = np.interp(b, self.budget, self.value)
        return np.where(b < self.budget[0], np.nan, out)

    def lam_at(self, limit: float | np.ndarray) -> np.ndarray:
        """Optimal multiplier at the given budget(s) (0 once everything fits)."""
        b = np.asarray(limit, dtype=np.float64)
        t = np.searchsorted(self.budget, b, side="right") - 1
        lam_ext = np.concatenate([self.lam, [0.0]])
        return np.where(b < self.budget[0], np.nan, lam_ext[np.clip(t, 0, self.lam.size)])


@dataclass(frozen=True, eq=False)
class _Order:
    hulls: Hulls
    order: np.ndarray
    cum_cost: np.ndarray
    cum_value: np.ndarray
    eff: np.ndarray
    base_cost: float
    base_value: float


def _global_order(arr: DualArrays) -> _Order:
    hulls = upper_hulls(arr.value, arr.costs[0], arr.valid)
    eff = hulls.efficiency.reshape(-1)
    real = np.flatnonzero(eff > -np.inf)
    order = real[np.argsort(-eff[real], kind="stable")]
    return _Order(
        hulls=hulls, order=order,
        cum_cost=np.cumsum(hulls.d_cost.reshape(-1)[order]),
        cum_value=np.cumsum(d_value_of(hulls).reshape(-1)[order]),
        eff=eff[order], base_cost=float(hulls.start_cost.sum()),
        base_value=float(hulls.start_value.sum()),
    )


def _one_budget_instance(instance: Instance) -> DualArrays:
    if instance.n_budgets != 1 or instance.capacities:
        raise UsageError(
            "lp_frontier: expected an instance with exactly one budget and no capacities, got "
            f"{instance.n_budgets} budget(s) and {len(instance.capacities)} capacities"
        )
    return dual_arrays(instance)


def lp_frontier(instance: Instance) -> LPFrontier:
    """The exact LP value as a function of the (single) budget, from one sort (see LPFrontier)."""
    o = _global_order(_one_budget_instance(instance))
    budget = o.base_cost + np.concatenate([[0.0], o.cum_cost])
    value = o.base_value + np.concatenate([[0.0], o.cum_value])
    return LPFrontier(budget=budget, value=value, lam=o.eff.copy())


def _limits_array(instance: Instance, limits: np.ndarray | list[float]) -> np.ndarray:
    lim = np.asarray(limits, dtype=np.float64)
    k = instance.n_budgets
    if lim.ndim == 1 and k == 1:
        lim = lim[:, None]
    if lim.ndim != 2 or lim.shape[1] != k:
        raise UsageError(
            f"limits: expected an array (P, {k}) (or (P,) for one budget), got shape {lim.shape}"
        )
    if not np.all(np.isfinite(lim)):
        raise UsageError("limits: expected finite numbers")
    return lim


def budget_sweep(
    instance: Instance,
    limits: np.ndarray | list[float],
    *,
    time_limit: float | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[SolveResult]:
    """One SolveResult per row of ``limits`` ((P, K), or (P,) for one budget), in that order.

    Each result has an integer allocation, ``bound`` (the exact LP = Lagrangian bound for one
    budget), its gap and ``multipliers``; ``solver`` is ``"dual-sweep"``. For one budget without
    capacities the hulls and the global order are computed once: each point is a prefix of the
    order, the fractional increment dropped, then a fill (``options["fill"]``: ``"hull"``,
    the default, continues along the global order with the increments that still fit;
    ``"full"`` runs the dual's general fill over every move, as a fresh ``dual`` solve does).
    Other instances re-solve each point warm-started (``time_limit`` applies per point).
    """
    opts = dict(options or {})
    lim = _limits_array(instance, limits)
    if instance.n_budgets == 1 and not instance.capacities:
        return _sweep_one(instance, lim[:, 0], str(opts.get("fill", "hull")))
    return _sweep_multi(instance, lim, time_limit, opts)


def _sweep_one(instance: Instance, limits: np.ndarray, fill_mode: str) -> list[SolveResult]:
    if fill_mode not in ("hull", "full"):
        raise UsageError(f"options['fill']: expected 'hull' or 'full', got {fill_mode!r}")
    t_start = time.perf_counter()
    arr = _one_budget_instance(instance)
    o = _global_order(arr)
    shared = time.perf_counter() - t_start
    hulls = o.hulls
    width = hulls.efficiency.shape[1]
    col = hulls.start.copy()
    done = 0
    results: list[SolveResult | None] = [None] * limits.size
    name = instance.budgets[0].name
    n_inc = o.order.size
    for p in np.argsort(limits, kind="stable"):
        t0 = time.perf_counter()
        limit = float(limits[p])
        inst_p = instance.with_limits([limit])
        res = limit - o.base_cost
        tol = float(slack_tolerance(np.array([limit]))[0])
        if res < -0.5 * tol:
            results[p] = build_result(inst_p, solver="dual-sweep", assignment=None, bound=None,
                                      status="infeasible",
                                      message="cheapest options break the budget")
            continue
        t = int(np.searchsorted(o.cum_cost, max(res, 0.0), side="right"))
        if t > done:
            step_idx = o.order[done:t]
            unit, step = np.divmod(step_idx, width)
            np.maximum.at(col, unit, step + 1)
            done = t
        elif t < done:  # limits are visited in increasing order; equal limits reuse the state
            pass
        taken_cost = float(o.cum_cost[t - 1]) if t else 0.0
        taken_value = float(o.cum_value[t - 1]) if t else 0.0
        if t < n_inc:
            lam = float(o.eff[t])
            frac = (res - taken_cost) / float(o.cum_cost[t] - taken_cost)
            lp = o.base_value + taken_value + frac * float(o.cum_value[t] - taken_value)
        else:
            lam, lp = 0.0, o.base_value + taken_value
        sorted_cols = col.copy()
        if fill_mode == "hull" and t < n_inc:
            _fill_along_order(o, sorted_cols, width, limit + 0.5 * tol - o.base_cost - taken_cost,
                              t)
        cols = hulls.option_of(sorted_cols)
        if fill_mode == "full":
            arr_p = dataclasses.replace(arr, limits=np.array([limit]))
            cols = fill_any(arr_p, cols, weights=np.array([max(lam, 1e-12)]))
        results[p] = build_result(
            inst_p, solver="dual-sweep", assignment=arr.assignment(cols), bound=lp,
            multipliers={name: lam},
            detail={"lp_value": lp, "lambda": lam, "point_seconds": time.perf_counter() - t0,
                    "shared_seconds": shared},
        )
    return [r for r in results if r is not None]


def _fill_along_order(
    o: _Order, sorted_cols: np.ndarray, width: int, left: float, t: int, window: int = 4096
) -> None:
    """Take the next increments of the global order that still fit, each only when it is its
    unit's next hull step (so every unit stays on its hull)."""
    stop = min(o.order.size, t + 1 + window)
    idx = o.order[t + 1:stop]
    d_cost = o.hulls.d_cost.reshape(-1)[idx]
    unit, step = np.divmod(idx, width)
    cand = np.flatnonzero(d_cost <= left)
    eff = o.hulls.efficiency
    for c in cand:
        if d_cost[c] > left:
            continue
        u, s = int(unit[c]), int(step[c])
        cur = int(sorted_cols[u])
        # the increment ending at column s+1 must start at the unit's current hull point
        between = eff[u, cur:s]
        if cur <= s and not np.any(between > -np.inf):
            sorted_cols[u] = s + 1
            left -= float(d_cost[c])
        if left <= 0:
            break


def _sweep_multi(
    instance: Instance, limits: np.ndarray, time_limit: float | None, opts: dict[str, Any]
) -> list[SolveResult]:
    from engine.dual.backend import solve_dual_numpy

    out = []
    lam0 = None
    for row in limits:
        inst_p = instance.with_limits(list(row))
        r = solve_dual_numpy(inst_p, time_limit=time_limit, options={**opts, "lam0": lam0},
                             solver="dual-sweep")
        if r.multipliers:
            lam0 = np.array(list(r.multipliers.values()))
        out.append(r)
    return out
