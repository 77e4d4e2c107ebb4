"""Time-limit adherence: the answer within 1.1 * limit + 1 s of the solver's start.

For each backend (highs, ortools, pyomo, dual-exact), size (users, generated with
``treatalloc generate -m 5``, one budget) and time limit, a fresh process loads the instance
(not timed) and calls ``engine.solve(..., time_limit=L)``; the table shows the time from that
call to the answer, the promise 1.1 L + 1 s, the status and whether an allocation came back.

Usage: .venv/bin/python benchmarks/bench_time_limits.py [--sizes 10000 100000 1000000]
       [--limits 1 5 30] [--solvers highs ortools pyomo dual-exact] [--keep DIR]

Every case runs alone; on a shared machine the other load counts against the limit (the
promise does not depend on it: the supervisor stops the solver at the deadline).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CASE = """
import json, sys, time
from engine import solve
from formulations import load_instance
inst = load_instance(sys.argv[1])
t = time.perf_counter()
r = solve(inst, sys.argv[2], time_limit=float(sys.argv[3]))
took = time.perf_counter() - t
print(json.dumps({"seconds": took, "status": r.status, "allocation": r.assignment is not None,
                  "gap": r.gap, "message": r.message}))
"""


def generate(folder: Path, users: int) -> Path:
    out = folder / f"g{users}"
    subprocess.run([sys.executable, "-m", "treatalloc", "generate", str(out), "-n", str(users),
                    "-m", "5", "--format", "parquet", "--seed", "0"], check=True,
                   stdout=subprocess.DEVNULL)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--limits", type=float, nargs="+", default=[1.0, 5.0, 30.0])
    p.add_argument("--solvers", nargs="+", default=["highs", "ortools", "pyomo", "dual-exact"])
    p.add_argument("--keep", default=None, help="generate the instances into this folder")
    a = p.parse_args()
    folder = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="bench_time_limits_"))
    rows = []
    try:
        for users in a.sizes:
            path = folder / f"g{users}"
            if not (path / "instance.toml").exists():
                path = generate(folder, users)
            for solver in a.solvers:
                for limit in a.limits:
                    done = subprocess.run(
                        [sys.executable, "-c", CASE, str(path), solver, str(limit)],
                        capture_output=True, text=True, check=False,
                        timeout=10 * limit + 300)
                    line = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "{}"
                    r = json.loads(line) if line.startswith("{") else {}
                    promise = 1.1 * limit + 1.0
                    took = r.get("seconds", float("nan"))
                    row = {"users": users, "solver": solver, "limit": limit, "seconds": took,
                           "promise": promise, "kept": bool(took <= promise),
                           "status": r.get("status", f"crashed: {done.stderr[-200:]!r}"),
                           "allocation": r.get("allocation"), "gap": r.get("gap")}
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        if not a.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"{'users':>9} {'solver':<11} {'limit':>6} {'seconds':>8} {'promise':>8} {'kept':<5} "
          f"{'status':<11} {'allocation':<10} gap")
    for r in rows:
        gap = "-" if r["gap"] is None else f"{r['gap']:.2e}"
        print(f"{r['users']:>9,} {r['solver']:<11} {r['limit']:>6g} {r['seconds']:>8.2f} "
              f"{r['promise']:>8.2f} {'yes' if r['kept'] else 'NO':<5} {r['status']:<11} "
              f"{'yes' if r['allocation'] else 'no':<10} {gap}")
    kept = sum(r["kept"] for r in rows)
    print(f"{kept} of {len(rows)} cases within 1.1 * limit + 1 s")
    return 0 if kept == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
