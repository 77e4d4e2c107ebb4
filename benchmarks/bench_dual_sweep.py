"""What-if sweep: 50 budgets on 1,000,000 x 5 from one hull set and one order, vs one dual solve.

Usage: .venv/bin/python benchmarks/bench_dual_sweep.py [--users N] [--points P] [--repeats R]

Side by side, each repeat: one ``dual`` solve; ``budget_sweep`` as shipped (increments sorted
only around each budget's cut, objective and usage certified from prefix sums); the same sweep
with a full sort and a full evaluation of every point (``order="sort"``, ``verify="evaluate"``,
the method before the multi-point selection); ``lp_frontier``. Prints medians, the split of the
sweep into shared work (hulls + order) and per-point work, and checks a few points' reported
objective and usage against formulations.assignment.evaluate.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from engine import solve
from engine.dual.sweep import budget_sweep, lp_frontier
from engine.result import SolveResult
from formulations.assignment import evaluate
from formulations.instance import Instance
from formulations.synthetic import synthetic_instance


def _repeat(
    inst: Instance, limits: np.ndarray, times: dict[str, list[float]]
) -> tuple[SolveResult, list[SolveResult], list[SolveResult]]:
    t = time.perf_counter()
    r = solve(inst, "dual")
    times["one"].append(time.perf_counter() - t)
    t = time.perf_counter()
    res = budget_sweep(inst, limits)
    times["sweep"].append(time.perf_counter() - t)
    t = time.perf_counter()
    ref = budget_sweep(inst, limits, options={"order": "sort", "verify": "evaluate"})
    times["sorted"].append(time.perf_counter() - t)
    t = time.perf_counter()
    lp_frontier(inst)
    times["front"].append(time.perf_counter() - t)
    return r, res, ref


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--users", type=int, default=1_000_000)
    p.add_argument("--points", type=int, default=50)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    inst = synthetic_instance(a.users, 5, 1, seed=0)
    limits = np.linspace(0.2, 2.0, a.points) * inst.limits[0]
    times: dict[str, list[float]] = {"one": [], "sweep": [], "sorted": [], "front": []}
    last: tuple[SolveResult, list[SolveResult], list[SolveResult]] | None = None
    for rep in range(a.repeats):
        last = None  # the previous repeat's results are freed untimed (2 x P allocations)
        last = _repeat(inst, limits, times)
        print(f"  repeat {rep + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()))
    assert last is not None
    r, res, ref = last
    m = {k: statistics.median(v) for k, v in times.items()}
    gaps = [x.gap for x in res if x.gap is not None]
    shared = res[0].detail["shared_seconds"]
    points = sum(x.detail.get("point_seconds", 0.0) for x in res)
    worst = 0.0
    for i in range(0, a.points, max(1, a.points // 5)):
        x = res[i]
        assert x.assignment is not None and x.objective is not None
        ev = evaluate(inst.with_limits([float(limits[i])]), x.assignment)
        assert ev.feasible, f"point {i} breaks its budget"
        worst = max(worst, abs(ev.objective - x.objective) / max(1.0, abs(ev.objective)),
                    abs(float(ev.usage[0]) - x.usage["cash"]) / max(1.0, limits[i]))
    same = all(x.assignment is not None and y.assignment is not None
               and np.array_equal(x.assignment, y.assignment)
               for x, y in zip(res, ref, strict=True))
    print(f"instance {a.users:,} x 5, {a.points} points, medians of {a.repeats}")
    print(f"one dual solve        {m['one']:.2f} s (gap {r.gap:.2e})")
    print(f"budget_sweep          {m['sweep']:.2f} s = {m['sweep'] / m['one']:.2f}x one solve "
          f"(last run: shared {shared:.2f} s, points {points:.2f} s)")
    print(f"full sort + evaluate  {m['sorted']:.2f} s = {m['sorted'] / m['one']:.2f}x one solve "
          f"(same allocations: {same})")
    print(f"lp_frontier           {m['front']:.2f} s")
    print(f"max gap over the sweep {max(gaps):.2e}; reported vs evaluate, max rel diff "
          f"{worst:.1e}")


if __name__ == "__main__":
    main()
