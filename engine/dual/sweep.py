"""What-if over budgets: many limits solved from one set of hulls and one global order.

For one budget the LP value is concave and piecewise linear in the limit B, with breakpoints at
the prefix sums of the hull increments taken in decreasing efficiency, and lam*(B) is the
efficiency of the increment being taken (non-increasing in B). One sort gives the whole
frontier (:func:`lp_frontier`), and every budget of a sweep is a prefix of the same order plus a
short fill (:func:`budget_sweep`); a sweep needs that order exact only around each budget's cut,
so it sorts only there (engine/dual/select.py, ``partial_order``). For several budgets or
capacities the sweep re-solves each point with the level bundle, warm-started from the previous
point's multipliers.
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
from engine.dual.options import SweepOptions
from engine.dual.select import PartialOrder, partial_order
from engine.finalize import build_result, limits_map
from engine.frontier import Frontier
from engine.options import parse_options
from engine.result import SolveResult, is_proven_optimal
from engine.stopping import interrupted
from formulations.assignment import slack_tolerance, target_limits, within_limits
from formulations.errors import UsageError
from formulations.instance import Instance
from formulations.summation import compensated_sum

#: increments after each cut that the hull fill looks at (sorted exactly, see _global_order)
FILL_WINDOW = 4096


@dataclass(frozen=True, eq=False)
class _Order:
    """The increments in decreasing efficiency, exact on ``spans`` (all of it after a full
    sort); ``cum_cost``/``cum_value``: the cumulative sums from the first increment, kept only
    at the positions of the spans (concatenated; span k at ``span_at[k]:span_at[k + 1]``)."""

    hulls: Hulls
    order: np.ndarray
    spans: np.ndarray
    span_at: np.ndarray
    cost_before: np.ndarray
    value_before: np.ndarray
    cum_cost: np.ndarray
    cum_value: np.ndarray
    total_cost: float
    total_value: float
    base_cost: float
    base_value: float
    base_cost_abs: float

    def position(self, res: float) -> int:
        """How many increments fit in the residual budget ``res``; -1 when the cut falls
        outside the sorted spans (the order is not exact there)."""
        n = self.order.size
        if res >= self.total_cost:
            return n
        k = int(np.searchsorted(self.cost_before, res, side="right")) - 1
        if k < 0:
            return -1
        a, z = int(self.span_at[k]), int(self.span_at[k + 1])
        local = int(np.searchsorted(self.cum_cost[a:z], res, side="right"))
        if local == z - a:
            return -1  # past the end of the span: in an unsorted stretch or on its edge
        return int(self.spans[k, 0]) + local

    def before(self, t: int) -> tuple[float, float]:
        """Cost and value of the first t increments (t a position returned by position)."""
        if t >= self.order.size:
            return self.total_cost, self.total_value
        k = int(np.searchsorted(self.spans[:, 0], t, side="right")) - 1
        start = int(self.spans[k, 0])
        if t == start:
            return float(self.cost_before[k]), float(self.value_before[k])
        i = int(self.span_at[k]) + t - start - 1
        return float(self.cum_cost[i]), float(self.cum_value[i])


def _global_order(arr: DualArrays, limits: np.ndarray | None = None) -> _Order:
    """The increments in decreasing efficiency: fully sorted (``limits`` None), or only around
    the cuts of the budgets ``limits`` (the multi-point weighted selection of select.py); a
    cut that falls outside the sorted stretches (rounding at a bucket edge) sorts everything."""
    hulls = upper_hulls(arr.value, arr.costs[0], arr.valid)
    d_cost = hulls.d_cost.reshape(-1)
    d_value = d_value_of(hulls).reshape(-1)
    base_cost = float(hulls.start_cost.sum())
    if limits is not None:
        res = np.maximum(np.asarray(limits, dtype=np.float64) - base_cost, 0.0)
        po = partial_order(hulls.efficiency, hulls.d_cost, res, after=FILL_WINDOW + 1,
                           d_value=hulls.d_value)
        o = _assemble(hulls, po, d_cost, d_value, base_cost)
        if all(o.position(float(r)) >= 0 for r in res):
            return o
    eff = hulls.efficiency.reshape(-1)
    real = np.flatnonzero(eff > -np.inf)
    # the frontier needs no tie order (ties change no breakpoint): the faster unstable sort;
    # a sweep keeps the stable order of the bucket path (ties by flat index)
    order = real[np.argsort(-eff[real], kind="stable" if limits is not None else "quicksort")]
    po = PartialOrder(order, np.array([[0, order.size]], dtype=np.int64), int(order.size),
                      np.zeros(1), np.zeros(1))
    return _assemble(hulls, po, d_cost, d_value, base_cost)


def _assemble(
    hulls: Hulls, po: PartialOrder, d_cost: np.ndarray, d_value: np.ndarray, base_cost: float
) -> _Order:
    spans = po.sorted_spans
    lengths = spans[:, 1] - spans[:, 0]
    cum_cost = np.empty(int(lengths.sum()))
    cum_value = np.empty(cum_cost.size)
    at = 0
    for (a, z), cb, vb in zip(spans.tolist(), po.cost_before, po.value_before, strict=True):
        idx = po.order[a:z]
        np.cumsum(d_cost[idx], out=cum_cost[at:at + z - a])
        cum_cost[at:at + z - a] += cb
        np.cumsum(d_value[idx], out=cum_value[at:at + z - a])
        cum_value[at:at + z - a] += vb
        at += z - a
    return _Order(
        hulls=hulls, order=po.order, spans=spans,
        span_at=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        cost_before=po.cost_before, value_before=po.value_before,
        cum_cost=cum_cost, cum_value=cum_value,
        total_cost=float(d_cost.sum()), total_value=float(d_value.sum()),
        base_cost=base_cost, base_value=float(hulls.start_value.sum()),
        base_cost_abs=float(np.abs(hulls.start_cost).sum()),
    )


def _one_budget_instance(instance: Instance) -> DualArrays:
    if instance.n_budgets != 1 or instance.capacities:
        raise UsageError(
            "lp_frontier: expected an instance with exactly one budget and no capacities, got "
            f"{instance.n_budgets} budget(s) and {len(instance.capacities)} capacities"
        )
    return dual_arrays(instance)


def lp_frontier(instance: Instance) -> Frontier:
    """The exact LP value as a function of the (single) budget, from one sort (see Frontier)."""
    o = _global_order(_one_budget_instance(instance))
    budget = o.base_cost + np.concatenate([[0.0], o.cum_cost])
    value = o.base_value + np.concatenate([[0.0], o.cum_value])
    return Frontier(budget=budget, value=value, lam=o.hulls.efficiency.reshape(-1)[o.order])


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
    ``options["order"]``: ``"bucket"`` (default) sorts the increments only around each
    point's cut (select.partial_order), ``"sort"`` sorts them all; both give the same
    allocations. ``options["verify"]``: ``"certified"`` (default, hull fill) takes each
    point's objective and usage from the order's prefix sums with a rounding-error bound
    (a full gather where the bound is too close to the limit, build_result's evaluation and
    repair if that breaks the budget); ``"evaluate"`` evaluates every point on the instance
    through build_result. Other instances re-solve each point warm-started (``time_limit``
    applies per point).
    """
    opts = parse_options(SweepOptions, "dual", options)
    lim = _limits_array(instance, limits)
    if instance.n_budgets == 1 and not instance.capacities:
        return _sweep_one(instance, lim[:, 0], opts.fill, opts.order, opts.verify)
    return _sweep_multi(instance, lim, time_limit, opts)


def _sweep_one(
    instance: Instance, limits: np.ndarray, fill_mode: str, order_mode: str = "bucket",
    verify: str = "certified",
) -> list[SolveResult]:
    if fill_mode not in ("hull", "full"):
        raise UsageError(f"options['fill']: expected 'hull' or 'full', got {fill_mode!r}")
    if order_mode not in ("bucket", "sort"):
        raise UsageError(f"options['order']: expected 'bucket' or 'sort', got {order_mode!r}")
    if verify not in ("certified", "evaluate"):
        raise UsageError(
            f"options['verify']: expected 'certified' or 'evaluate', got {verify!r}")
    t_start = time.perf_counter()
    arr = _one_budget_instance(instance)
    # every point aims at its target limit (formulations.assignment.target_limits): the LP, the
    # bound and the allocation all hold to it
    targets = target_limits(limits)
    o = _global_order(arr, targets if order_mode == "bucket" else None)
    shared = time.perf_counter() - t_start
    hulls = o.hulls
    width = hulls.efficiency.shape[1]
    col = hulls.start.copy()
    step_dtype = col.dtype
    # each point's objective and usage certified from the order (build_result's full
    # evaluation only for the "full" fill, for units without options, or when asked)
    fast = fill_mode == "hull" and verify == "certified" and bool(np.all(hulls.start >= 0))
    cells = _Cells(arr, hulls) if fast else None
    eff_flat = hulls.efficiency.reshape(-1)
    d_cost_flat = hulls.d_cost.reshape(-1)
    d_value_flat = d_value_of(hulls).reshape(-1)
    done = 0
    results: list[SolveResult | None] = [None] * limits.size
    name = instance.budgets[0].name
    n_inc = o.order.size
    for p in np.argsort(limits, kind="stable"):
        t0 = time.perf_counter()
        limit = float(limits[p])
        target = float(targets[p])
        inst_p = instance.with_limits([limit])
        res = target - o.base_cost
        tol = float(slack_tolerance(np.array([limit]))[0])
        if res < 0:
            results[p] = build_result(inst_p, solver="dual-sweep", assignment=None, bound=None,
                                      status="infeasible",
                                      message="cheapest options break the budget")
            continue
        t = o.position(max(res, 0.0))  # >= 0: checked for every limit by _global_order
        if t > done:
            # every unit's increments come in decreasing efficiency = increasing step, so the
            # unit's column is the largest step taken (same dtype: numpy's fast ufunc.at path)
            unit, step = np.divmod(o.order[done:t], width)
            np.maximum.at(col, unit, (step + 1).astype(step_dtype))
            done = t
        # t < done cannot happen: limits are visited in increasing order (equal limits reuse)
        taken_cost, taken_value = o.before(t)
        if t < n_inc:
            crit = int(o.order[t])
            lam = float(eff_flat[crit])
            frac = (res - taken_cost) / float(d_cost_flat[crit])
            lp = o.base_value + taken_value + frac * float(d_value_flat[crit])
        else:
            lam, lp = 0.0, o.base_value + taken_value
        sorted_cols = col.astype(np.int64)
        moved = np.zeros(0, dtype=np.int64)
        if fill_mode == "hull" and t < n_inc:
            moved = _fill_along_order(o, sorted_cols, width,
                                      target - o.base_cost - taken_cost, t)
        cols = hulls.option_of(sorted_cols)
        detail: dict[str, Any] = {"lp_value": lp, "lambda": lam, "shared_seconds": shared}
        if fill_mode == "full":
            arr_p = dataclasses.replace(arr, limits=np.array([target]))
            cols = fill_any(arr_p, cols, weights=np.array([max(lam, 1e-12)]))
        totals = None
        if cells is not None:
            totals, detail["totals"] = _certified_totals(cells, o, t, col, sorted_cols, moved,
                                                         limit, tol)
        results[p] = _point_result(inst_p, arr, totals, cols, lp, {name: lam}, detail, t0)
    return [r for r in results if r is not None]


class _Cells:
    """Reads the value and cost of chosen options from the dense arrays."""

    def __init__(self, arr: DualArrays, hulls: Hulls) -> None:
        self.hulls = hulls
        self.values = arr.value.reshape(-1)
        self.costs = arr.costs[0].reshape(-1)
        self.width = arr.value.shape[1]
        self._all: np.ndarray | None = None

    def _cells(self, units: np.ndarray, sorted_cols: np.ndarray) -> np.ndarray:
        order = self.hulls.order
        opt = sorted_cols if order is None else order[units, sorted_cols]
        return units * self.width + opt

    def change(
        self, units: np.ndarray, before: np.ndarray, after: np.ndarray
    ) -> tuple[float, float, float]:
        """Change of objective and usage when ``units`` move from sorted columns ``before``
        to ``after`` (arrays over those units), and the sum of |cost| of the cells read."""
        a, b = self._cells(units, after), self._cells(units, before)
        ca, cb = self.costs[a], self.costs[b]
        return (float((self.values[a] - self.values[b]).sum()), float((ca - cb).sum()),
                float(np.abs(ca).sum() + np.abs(cb).sum()))

    def exact(self, sorted_cols: np.ndarray) -> tuple[float, float]:
        """Objective and usage of a whole allocation: one gather over every unit."""
        if self._all is None:
            self._all = np.arange(sorted_cols.size, dtype=np.int64)
        cells = self._cells(self._all, sorted_cols)
        return compensated_sum(self.values[cells]), compensated_sum(self.costs[cells])


def _certified_totals(
    cells: _Cells, o: _Order, t: int, col: np.ndarray, sorted_cols: np.ndarray,
    moved: np.ndarray, limit: float, tol: float,
) -> tuple[tuple[float, float], str]:
    """Objective and usage of ``sorted_cols`` and how they were obtained.

    From the prefix sums of the order (the increments taken) plus the exact change of the
    units the fill moved. A float sum of n terms is within n * eps/2 * (sum of |terms|) of the
    exact sum (recursive summation bound; numpy's pairwise sums do better). The margin below
    is four times that bound for our sums (t prefix terms, N hull starts, the fill's cells)
    plus an evaluator's sum over the N chosen cells: when usage plus the margin stays within
    the feasibility tolerance, the allocation keeps the budget however it is re-evaluated.
    Else the objective and usage are recomputed by one gather over all units ("gather") and
    the caller checks that usage."""
    d_obj, d_use, moved_abs = 0.0, 0.0, 0.0
    if moved.size:
        d_obj, d_use, moved_abs = cells.change(moved, col[moved], sorted_cols[moved])
    taken_cost, taken_value = o.before(t)
    usage = o.base_cost + taken_cost + d_use
    objective = o.base_value + taken_value + d_obj
    terms = t + 2 * o.hulls.n_units + 2 * moved.size + 8
    scale = o.base_cost_abs + taken_cost + moved_abs
    if usage + 2.0 * terms * np.finfo(np.float64).eps * scale <= limit + tol:
        return (objective, usage), "prefix sums, rounding-bounded"
    return cells.exact(sorted_cols), "gather"


def _point_result(
    inst: Instance, arr: DualArrays, totals: tuple[float, float] | None, cols: np.ndarray,
    lp: float, multipliers: dict[str, float], detail: dict[str, Any], t0: float,
) -> SolveResult:
    """The SolveResult of one point. ``totals``: the allocation's objective and usage (see
    _certified_totals); the allocation is returned as is only if that usage keeps the budget.
    Otherwise (or without ``totals``) through build_result, which evaluates on the instance
    and repairs."""
    assignment = arr.assignment(cols)
    if totals is not None:
        objective, usage = totals
        limit = float(inst.limits[0])
        if within_limits(np.array([usage]), np.array([limit]))[0]:
            detail["point_seconds"] = time.perf_counter() - t0
            return SolveResult(
                status="optimal" if is_proven_optimal(objective, lp) else "feasible",
                solver="dual-sweep", objective=objective, bound=lp,
                assignment=np.asarray(assignment, dtype=np.int64),
                usage={inst.budgets[0].name: usage}, limits=limits_map(inst),
                multipliers=multipliers, detail=detail,
            )
    detail["point_seconds"] = time.perf_counter() - t0
    return build_result(inst, solver="dual-sweep", assignment=assignment, bound=lp,
                        multipliers=multipliers, detail=detail)


def _fill_along_order(
    o: _Order, sorted_cols: np.ndarray, width: int, left: float, t: int, window: int = FILL_WINDOW
) -> np.ndarray:
    """Take the next increments of the global order that still fit, each only when it is its
    unit's next hull step (so every unit stays on its hull); return the units moved."""
    stop = min(o.order.size, t + 1 + window)
    idx = o.order[t + 1:stop]
    d_cost = o.hulls.d_cost.reshape(-1)[idx]
    unit, step = np.divmod(idx, width)
    cand = np.flatnonzero(d_cost <= left)
    eff = o.hulls.efficiency
    moved: list[int] = []
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
            moved.append(u)
        if left <= 0:
            break
    return np.unique(np.array(moved, dtype=np.int64))


def _sweep_multi(
    instance: Instance, limits: np.ndarray, time_limit: float | None, opts: SweepOptions
) -> list[SolveResult]:
    from engine.dual.backend import solve_dual_numpy

    out = []
    lam0 = None
    for row in limits:
        if interrupted():  # Ctrl-C / SIGTERM: the points solved so far
            break
        inst_p = instance.with_limits(list(row))
        r = solve_dual_numpy(inst_p, time_limit=time_limit,
                             options=dataclasses.replace(opts, lam0=lam0), solver="dual-sweep")
        if r.multipliers:
            lam0 = np.array(list(r.multipliers.values()))
        out.append(r)
    return out
