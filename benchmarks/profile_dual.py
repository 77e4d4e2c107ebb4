"""Profile ``solve(instance, "dual")`` on the synthetic one-budget instance (issue 12, Scale II).

Usage: .venv/bin/python benchmarks/profile_dual.py [--users N] [--options M] [--budgets K]
       [--top T] [--sort tottime|cumulative] [--out FILE.prof] [--warm]

Generation is not profiled. ``--warm`` solves once before the profiled solve (so a JIT compile,
if the compiled kernels are installed, is not in the profile). cProfile sees Python functions;
time inside one numpy call is charged to that call's caller, so read ``tottime`` of the kernels
(engine/dual/*) together with the numpy entries below them. For a sampling profile of the same
run without cProfile's overhead:

    .venv/bin/py-spy record -o dual.svg -- .venv/bin/python benchmarks/profile_dual.py --no-profile
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from engine import solve
from formulations.synthetic import synthetic_instance


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=10_000_000)
    p.add_argument("--options", type=int, default=5)
    p.add_argument("--budgets", type=int, default=1)
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--sort", choices=["tottime", "cumulative"], default="tottime")
    p.add_argument("--out", default=None, help="also write the raw profile (pstats format)")
    p.add_argument("--warm", action="store_true", help="solve once before the profiled solve")
    p.add_argument("--no-profile", action="store_true", help="just time the solve (for py-spy)")
    a = p.parse_args()
    inst = synthetic_instance(a.users, a.options, a.budgets, seed=0)
    if a.warm:
        solve(inst, "dual")
    t = time.perf_counter()
    if a.no_profile:
        r = solve(inst, "dual")
    else:
        prof = cProfile.Profile()
        r = prof.runcall(solve, inst, "dual")
    dt = time.perf_counter() - t
    timings = {k: round(v, 3) for k, v in (r.detail.get("timings") or {}).items()}
    print(f"{a.users:,} x {a.options} x {a.budgets}: {dt:.2f} s, status {r.status}, "
          f"gap {r.gap:.3e}, timed phases {timings} (sum {sum(timings.values()):.2f} s)")
    if not a.no_profile:
        stats = pstats.Stats(prof).strip_dirs().sort_stats(a.sort)
        stats.print_stats(a.top)
        if a.out:
            stats.dump_stats(a.out)


if __name__ == "__main__":
    main()
