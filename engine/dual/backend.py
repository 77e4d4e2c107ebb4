"""The ``dual`` solver: Lagrangian dual decomposition with a certificate (bound and gap).

One budget: the exact LP through the hulls (engine/dual/one_budget.py). Several budgets or
capacities: a level bundle method on the dual (engine/dual/multi_budget.py). Either way the
allocation returned is feasible (repaired, then filled) and ``bound`` is a Lagrangian bound,
valid for any multiplier; ``status`` is ``optimal`` only where that bound proves it
(engine.result.is_proven_optimal), else ``feasible``.

Options: engine.dual.options.DualOptions (``gap``, the bundle's stopping gap, default 1e-6;
``max_iter``, ``selection``, ``polish``, ``core_size``; ``backend`` "numpy" or "dask",
delegated to engine.distributed.dask_dual).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np

from engine.backend import Capabilities
from engine.dual.arrays import DualArrays, dual_arrays
from engine.dual.improve import repair as repair_rows
from engine.dual.kernels import row_min
from engine.dual.multi_budget import solve_multi
from engine.dual.one_budget import solve_one_budget
from engine.dual.options import DualOptions
from engine.dual.polish import core_polish
from engine.dual.swap import pair_swap
from engine.finalize import build_result
from engine.options import positive
from engine.progress import progress
from engine.result import SolveResult
from engine.stopping import interrupted
from formulations.instance import Instance


def infeasible_by_row(arr: DualArrays) -> str | None:
    """A message when some row cannot hold even with every unit at its cheapest cell there."""
    for k in range(arr.n_rows):
        c = arr.costs[k] if arr.valid is None else np.where(arr.valid, arr.costs[k], np.inf)
        least = float(row_min(c).sum())
        if least > arr.limits[k]:
            return (f"{arr.row_names[k]}: even the cheapest option of every unit uses "
                    f"{least:.10g} > limit {arr.limits[k]:.10g}")
    return None


def _fallback_allocation(
    instance: Instance, arr: DualArrays, time_limit: float | None
) -> np.ndarray | None:
    """When the repair of the Lagrangian choice fails: the greedy baseline, then (small
    instances only) HiGHS, so that a feasible instance never comes back without an allocation."""
    from engine.backends.greedy import greedy_assignment
    from engine.solve import solve
    from formulations.assignment import evaluate

    a = greedy_assignment(instance)
    if evaluate(instance, a).feasible:
        return arr.columns(a)
    if instance.n_rows <= 200_000:
        res = solve(instance, "highs", time_limit=time_limit)
        if res.assignment is not None:
            return arr.columns(res.assignment)
    return None


def lp_infeasible(instance: Instance) -> bool:
    """True when HiGHS proves the LP relaxation infeasible (then so is the instance). Used only
    after the dual's repair found no allocation, where budgets and capacities conflict jointly."""
    from engine.backends.highs import solve_lp_relaxation

    return solve_lp_relaxation(instance).status == "infeasible"


def solve_dual_numpy(
    instance: Instance, *, time_limit: float | None, options: DualOptions, solver: str
) -> SolveResult:
    """The in-memory dual solve behind ``DualBackend`` (also the first stage of dual-exact)."""
    arr = dual_arrays(instance)
    names = arr.row_names
    if arr.n_rows == 0:
        cols = np.argmax(arr.value, axis=1)
        obj = arr.objective(cols)
        return build_result(instance, solver=solver, assignment=arr.assignment(cols), bound=obj)
    why = infeasible_by_row(arr)
    if why is not None:
        return build_result(instance, solver=solver, assignment=None, bound=None,
                            status="infeasible", message=why)
    positive(solver, gap=options.gap, max_iter=options.max_iter, core_size=options.core_size)
    selection = options.selection
    if arr.n_rows == 1:
        s = solve_one_budget(arr, method=selection)
        if not s.feasible or s.cols is None:
            return build_result(instance, solver=solver, assignment=None, bound=None,
                                status="infeasible", message="cheapest options break the budget")
        return build_result(
            instance, solver=solver, assignment=arr.assignment(s.cols), bound=s.bound,
            multipliers={names[0]: s.lam},
            detail={"method": "hull+selection", "timings": s.timings, **s.info},
        )

    def repair_fn(cols: np.ndarray, lam: np.ndarray) -> np.ndarray:
        return repair_rows(arr, cols, weights=lam)

    max_iter = options.max_iter
    tol = options.gap
    with progress("dual (level bundle)", total=max_iter, enabled=options.progress) as bar:

        def tick(it: int, f: float, obj: float | None) -> None:
            bar.describe(f"dual: bound {f:.6g}" + ("" if obj is None else f", best {obj:.6g}"))
            bar.advance(1)

        m = solve_multi(arr, repair_fn=repair_fn, time_limit=time_limit, max_iter=max_iter,
                        tol=tol, on_iteration=tick, lam0=options.lam0,
                        fill_rounds=0 if options.polish else 10)
    mult = {nm: float(v) for nm, v in zip(names, m.lam, strict=True)}
    detail: dict[str, Any] = {
        "method": "level-bundle", "iterations": m.iterations, "timings": m.timings, **m.info,
    }
    cols = m.cols if m.feasible else None
    if cols is None:
        # the Lagrangian choice could not be repaired: start the polish from greedy (or HiGHS)
        cols = _fallback_allocation(instance, arr, time_limit)
        detail["fallback"] = "greedy" if cols is not None else "none"
    if cols is not None and options.polish:
        obj = arr.objective(cols)
        gap = (m.bound - obj) / max(1.0, abs(m.bound))
        left = None if time_limit is None else time_limit - m.timings.get("total", 0.0)
        if gap > tol and (left is None or left > 0.5) and not interrupted():
            cols, info = core_polish(
                arr, m.lam, cols, core_size=options.core_size,
                time_limit=10.0 if left is None else min(10.0, 0.8 * left),
            )
            detail.update(info)
            # then swaps under every row: an upgrade paid for by a downgrade elsewhere; not
            # once the polish met the gap asked for (a round passes over every cell)
            before = arr.objective(cols)
            if (m.bound - before) / max(1.0, abs(m.bound)) > tol:
                t_swap = time.perf_counter()
                cols = pair_swap(arr, cols, m.lam, time_limit=1.0 if left is None
                                 else min(1.0, 0.1 * max(left, 0.0)))
                detail["pair_swap_gain"] = arr.objective(cols) - before
                detail["pair_swap_seconds"] = time.perf_counter() - t_swap
    if cols is None:
        if lp_infeasible(instance):
            return build_result(instance, solver=solver, assignment=None, bound=None,
                                status="infeasible", detail=detail,
                                message="the LP relaxation (HiGHS) has no feasible point")
        return build_result(instance, solver=solver, assignment=None, bound=m.bound,
                            status="error", multipliers=mult, detail=detail,
                            message="repair found no allocation that respects every budget")
    return build_result(instance, solver=solver, assignment=arr.assignment(cols),
                        bound=m.bound, multipliers=mult, detail=detail)


class DualBackend:
    """Lagrangian dual decomposition; ``optimal`` only where its own gap proves it."""

    name: ClassVar[str] = "dual"
    options_type: ClassVar[type[DualOptions]] = DualOptions
    capabilities: ClassVar[Capabilities] = Capabilities(exact=False)

    def solve(
        self, instance: Instance, *, time_limit: float | None, options: DualOptions
    ) -> SolveResult:
        if options.backend == "dask":
            from engine.distributed.dask_dual import solve_dual_dask

            return solve_dual_dask(instance, time_limit=time_limit, options=options)
        return solve_dual_numpy(instance, time_limit=time_limit, options=options, solver=self.name)
