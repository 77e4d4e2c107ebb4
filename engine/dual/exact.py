"""The ``dual-exact`` solver: a proven optimum at scale through the dual and a small core.

1. Run the dual (engine/dual/backend.py): a feasible allocation (value LB, strengthened by its
   fill / core polish, and for one budget by 1-swaps, engine/dual/swap.py) and multipliers lam
   with the Lagrangian bound UB = f(lam).
2. Reduced-cost fixing (engine/dual/core.py): every cell with reduced cost below
   ``-(UB - LB)`` cannot appear in an allocation worth at least LB; units left with one cell
   are fixed. The remaining core is a small MCKP over the residual limits.
3. Solve the core exactly with HiGHS (gap 1e-9 relative / 1e-6 absolute, the project's
   definition of optimal). The optimum of the whole instance lies in the restricted problem, so
   ``fixed value + core bound`` is an upper bound and the combined allocation is optimal when
   HiGHS proves the core.

With a time limit the best allocation and the best bound (min of UB and the core's bound) come
back with status ``time_limit``. ``detail`` records the core size and the time of each phase.
A dynamic program over the core for integral costs (Pisinger 1995) is not implemented: HiGHS on
the core is what runs.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np

from engine.backend import ISOLATE_ROWS, Capabilities
from engine.dual.arrays import dual_arrays
from engine.dual.backend import solve_dual_numpy
from engine.dual.core import build_core, reduced_costs
from engine.dual.options import DualExactOptions
from engine.dual.swap import one_swap
from engine.finalize import build_result
from engine.options import parse_options
from engine.result import OPT_ABS_GAP, OPT_REL_GAP, SolveResult, Status, is_proven_optimal
from engine.stopping import Deadline, interrupted
from formulations.errors import UsageError
from formulations.instance import Instance

#: the least time left for which a large core is still worth a (supervised) HiGHS solve
CORE_MIN_SECONDS = 1.0
#: cores of at most this many cells are solved in this process (HiGHS' set-up before its
#: first LP, which no limit interrupts, is short there: a watchdog's cancel then stops it)
CORE_IN_PROCESS_ROWS = ISOLATE_ROWS


def core_start(core: Any, incumbent: np.ndarray) -> np.ndarray:
    """The incumbent's choice of every core unit, as an assignment of the core instance."""
    inst = core.instance
    mine = incumbent[core.units[inst.unit_of_row]] == core.cells
    first = np.flatnonzero(mine)
    a = np.zeros(inst.n_units, dtype=np.int64)
    a[inst.unit_of_row[first]] = inst.local_index[first]
    return a


class DualExactBackend:
    """Dual bound + reduced-cost fixing + HiGHS on the core: ``optimal`` with a proof."""

    name: ClassVar[str] = "dual-exact"
    options_type: ClassVar[type[DualExactOptions]] = DualExactOptions
    capabilities: ClassVar[Capabilities] = Capabilities(exact=True)

    def solve(
        self, instance: Instance, *, time_limit: float | None, options: DualExactOptions
    ) -> SolveResult:
        from engine.registry import get_backend
        from engine.solve import solve

        if options.backend != "numpy":
            raise UsageError(f"solver {self.name!r}: option 'backend': only 'numpy' (the core "
                             f"is solved in memory), got {options.backend!r}")
        t0 = time.perf_counter()
        clock = Deadline(t0, time_limit)
        first = solve_dual_numpy(instance, time_limit=None if time_limit is None
                                 else 0.5 * time_limit, options=options, solver=self.name)
        timings = {"dual": time.perf_counter() - t0}
        detail: dict[str, Any] = {"dual_detail": dict(first.detail), "timings": timings}
        if first.status == "infeasible":
            return first

        def stop_here(assignment: np.ndarray | None, bound: float | None,
                      need: float = 0.0) -> SolveResult | None:
            """The best so far with status time_limit, where an interrupt or the limit says so
            (``need``: the seconds the next step needs at least)."""
            left = clock.remaining()
            if not (interrupted() or (left is not None and left < need)):
                return None
            detail["stopped"] = clock.stop_reason()
            return build_result(instance, solver=self.name, assignment=assignment, bound=bound,
                                multipliers=first.multipliers, detail=detail,
                                status="time_limit", message=clock.stop_reason())
        if first.assignment is None:
            # no allocation from the dual (budgets and capacities conflict in a way its repair
            # cannot resolve): let HiGHS decide the whole instance, exactly
            res = solve(instance, "highs", time_limit=time_limit)
            detail["fallback"] = "highs on the whole instance"
            return build_result(instance, solver=self.name, assignment=res.assignment,
                                bound=res.bound, detail=detail,
                                status=res.status if res.status in (
                                    "infeasible", "time_limit", "error") else None)
        lb, ub = first.objective, first.bound
        assert lb is not None and ub is not None
        if is_proven_optimal(lb, ub):
            detail["core_units"] = 0
            return build_result(instance, solver=self.name, assignment=first.assignment,
                                bound=ub, multipliers=first.multipliers, detail=detail)
        stopped = stop_here(first.assignment, ub)
        if stopped is not None:
            return stopped
        t = time.perf_counter()
        arr = dual_arrays(instance)
        lam = np.array([first.multipliers.get(nm, 0.0) for nm in arr.row_names])
        incumbent = arr.columns(first.assignment)
        if arr.n_rows == 1:
            # a better incumbent first: the core shrinks with the gap
            incumbent = one_swap(arr, incumbent, float(lam[0]), window=ub - lb)
            lb = max(lb, arr.objective(incumbent))
            detail["swap_objective"] = lb
        timings["swap"] = time.perf_counter() - t
        t = time.perf_counter()
        gap_abs = ub - lb
        # a hair of slack on the fixing threshold so rounding never removes an optimal cell
        margin = 1e-9 * max(1.0, abs(ub)) + 1e-12
        d = reduced_costs(arr, lam)
        allowed = d >= -(gap_abs + margin)
        allowed[np.arange(arr.n_units), incumbent] = True
        core = build_core(arr, allowed, incumbent, name=f"{instance.name}:core")
        timings["fixing"] = time.perf_counter() - t
        # a small core is solved here (HiGHS starts its search at once on it); a large one in
        # a supervised child process, which needs about 0.5 s to start and time to solve
        here = core.instance.n_rows <= CORE_IN_PROCESS_ROWS
        stopped = stop_here(arr.assignment(incumbent), ub, need=0.0 if here else CORE_MIN_SECONDS)
        if stopped is not None:
            return stopped
        detail["core_units"] = int(core.units.size)
        detail["core_cells"] = int(core.instance.n_rows)
        detail["fixed_units"] = int(arr.n_units - core.units.size)
        if core.units.size == 0:
            # every unit is fixed at its incumbent cell: the restricted problem, which holds
            # every allocation worth at least LB, has that one allocation, so LB is optimal
            timings["total"] = time.perf_counter() - t0
            return build_result(instance, solver=self.name, assignment=arr.assignment(incumbent),
                                bound=lb, multipliers=first.multipliers, detail=detail)
        t = time.perf_counter()
        left = clock.remaining()
        # the proof needs gap <= 1e-9 of the *whole* objective; the core is worth far less, so
        # the same absolute gap is a looser relative gap on the core (half of it, for safety)
        core_value = float(arr.value[core.units, incumbent[core.units]].sum())
        core_gap = min(1e-4, 0.5e-9 * max(1.0, abs(ub)) / max(1.0, abs(core_value)))
        detail["core_gap"] = core_gap
        # HiGHS starts from the incumbent and stops once its core bound is within the whole
        # instance's proof of it (an absolute gap is the same on the core and the whole): on
        # 1,000,000 users it otherwise ran 30 s to a 3e-11 gap
        proof_gap = max(OPT_REL_GAP * max(1.0, abs(ub)), OPT_ABS_GAP)
        core_opts: dict[str, Any] = {"gap": core_gap, "abs_gap": 0.5 * proof_gap,
                                     "start": core_start(core, incumbent)}
        if options.threads is not None:
            core_opts["threads"] = options.threads
        if here:
            highs = get_backend("highs")
            res = highs.solve(core.instance, time_limit=left,
                              options=parse_options(highs.options_type, "highs", core_opts))
        else:
            res = solve(core.instance, "highs", time_limit=left, options=core_opts)
        timings["core_mip"] = time.perf_counter() - t
        detail["core_status"] = res.status
        best = arr.assignment(incumbent)
        bound = ub
        if res.status == "error":
            # the core's answer is not usable; the dual's incumbent and bound still are
            detail["core_message"] = res.message
        else:
            if res.bound is not None:
                bound = min(ub, core.fixed_value + res.bound)
            if res.assignment is not None:
                cols = core.columns(res.assignment)
                if arr.objective(cols) >= lb:
                    best = arr.assignment(cols)
        timings["total"] = time.perf_counter() - t0
        forced: Status | None = "time_limit" if res.status == "time_limit" else None
        return build_result(instance, solver=self.name, assignment=best, bound=bound,
                            multipliers=first.multipliers, detail=detail, status=forced,
                            message=res.message if forced else "")
