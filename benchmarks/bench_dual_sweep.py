"""What-if sweep: 50 budgets on 1,000,000 x 5 from one hull set and one order, vs one dual solve.

Usage: .venv/bin/python benchmarks/bench_dual_sweep.py [--users N] [--points P] [--repeats R]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from engine import solve
from engine.dual.sweep import budget_sweep, lp_frontier
from formulations.synthetic import synthetic_instance


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--users", type=int, default=1_000_000)
    p.add_argument("--points", type=int, default=50)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    inst = synthetic_instance(a.users, 5, 1, seed=0)
    limits = np.linspace(0.2, 2.0, a.points) * inst.limits[0]
    one, sweep, front = [], [], []
    for _ in range(a.repeats):
        t = time.perf_counter()
        r = solve(inst, "dual")
        one.append(time.perf_counter() - t)
        t = time.perf_counter()
        res = budget_sweep(inst, limits)
        sweep.append(time.perf_counter() - t)
        t = time.perf_counter()
        lp_frontier(inst)
        front.append(time.perf_counter() - t)
    gaps = [x.gap for x in res if x.gap is not None]
    m1, ms = statistics.median(one), statistics.median(sweep)
    print(f"instance {a.users:,} x 5; one dual solve {m1:.2f} s (gap {r.gap:.2e}); "
          f"{a.points}-point sweep {ms:.2f} s = {ms / m1:.2f}x one solve; "
          f"max gap over the sweep {max(gaps):.2e}; lp_frontier {statistics.median(front):.2f} s")


if __name__ == "__main__":
    main()
