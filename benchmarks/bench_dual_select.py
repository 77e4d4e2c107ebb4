"""Bracket selection vs full sort for the critical increment (the one-budget LP's multiplier).

Usage: .venv/bin/python benchmarks/bench_dual_select.py [--users N] [--repeats R]
"""

from __future__ import annotations

import argparse
import statistics
import time

from engine.dual.kernels import upper_hulls
from engine.dual.select import select_critical
from formulations.synthetic import synthetic_arrays


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--users", type=int, default=10_000_000)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    v, c = synthetic_arrays(a.users, 5, 1, seed=0)
    h = upper_hulls(v, c[0], keep_value=False)
    budget = 0.3 * float(c[0].max(axis=1).sum()) - float(h.start_cost.sum())
    out = {}
    for method in ("bracket", "sort"):
        ts = []
        for _ in range(a.repeats):
            t = time.perf_counter()
            crit = select_critical(h.efficiency, h.d_cost, None, budget, method=method)
            ts.append(time.perf_counter() - t)
        out[method] = (statistics.median(ts), crit.lam)
    n_inc = int((h.d_cost > 0).sum())
    print(f"{n_inc:,} hull increments: bracket {out['bracket'][0]:.2f} s, full sort "
          f"{out['sort'][0]:.2f} s ({out['sort'][0] / out['bracket'][0]:.1f}x); "
          f"same multiplier: {out['bracket'][1] == out['sort'][1]}")


if __name__ == "__main__":
    main()
