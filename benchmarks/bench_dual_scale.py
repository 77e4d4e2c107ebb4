"""`dual` at scale: one budget 10,000,000 x 5 and three budgets 1,000,000 x 8.

Usage: .venv/bin/python benchmarks/bench_dual_scale.py [--users N] [--repeats R] [--case one|three]

Generation is excluded from the times. Peak memory: Linux VmHWM of this process, reset just
before the solve (``echo 5 > /proc/self/clear_refs``), so it is the peak resident set *during
the solve*, including the instance arrays already in memory.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from engine import solve
from formulations.synthetic import synthetic_instance


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return -1


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def run(users: int, options: int, budgets: int, repeats: int, solver_options: dict) -> None:
    inst = synthetic_instance(users, options, budgets, seed=0)
    array_bytes = inst.value.nbytes + inst.costs.nbytes
    print(f"instance {users:,} x {options} x {budgets} budget(s); value+cost arrays "
          f"{array_bytes / 2**30:.2f} GiB")
    times, gaps = [], []
    for rep in range(repeats):
        reset = _reset_peak()
        rss0 = _status_kb("VmRSS")
        t = time.perf_counter()
        cpu = time.process_time()
        r = solve(inst, "dual", options=solver_options)
        dt = time.perf_counter() - t
        cpu = time.process_time() - cpu
        peak = _status_kb("VmHWM")
        times.append(dt)
        gaps.append(r.gap)
        print(f"  run {rep}: {dt:.2f} s (CPU {cpu:.2f} s)  status {r.status}  gap {r.gap:.3e}  "
              f"objective {r.objective:.6f}  bound {r.bound:.6f}  "
              f"RSS before {rss0 / 2**20:.2f} GiB, peak during solve {peak / 2**20:.2f} GiB "
              f"({peak * 1024 / array_bytes:.2f}x the arrays)"
              + ("" if reset else " (peak not reset)"))
        print(f"         timings {r.detail.get('timings')}")
    print(f"median {statistics.median(times):.2f} s, max gap {max(gaps):.3e}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--case", choices=["one", "three"], default="one")
    p.add_argument("--users", type=int, default=None)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    if a.case == "one":
        run(a.users or 10_000_000, 5, 1, a.repeats, {})
    else:
        run(a.users or 1_000_000, 8, 3, a.repeats, {"gap": 1e-6})


if __name__ == "__main__":
    main()
