"""How HiGHS can be stopped at a time limit: the options measured before choosing one.

For each size (users x 5 options, one budget) and a limit L, the seconds from the start of the
solve to the answer with:

* ``time_limit``: HiGHS' own option only;
* ``cancel``: its option and a watchdog thread calling ``Highs.cancelSolve()`` at L;
* ``presolve-off``: its option with ``presolve = off``;
* ``supervised``: ``engine.solve(..., time_limit=L)``, the chosen way (a child process
  stopped from outside at the deadline, engine.isolate).

Each case runs in its own process, killed after ``--cap`` seconds (then shown as "> cap").

Usage: .venv/bin/python benchmarks/bench_highs_stop.py [--sizes 10000 100000] [--limit 1]
       [--cap 60]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CASE = """
import json, sys, threading, time
from formulations.synthetic import synthetic_instance
n, mode, limit = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
inst = synthetic_instance(n, 5, 1, seed=0)
t0 = time.perf_counter()
if mode == "supervised":
    from engine import solve
    r = solve(inst, "highs", time_limit=limit)
    status = r.status
else:
    from engine.backends.highs import make_highs
    from formulations.standard_form import compile_standard_form
    h = make_highs(compile_standard_form(inst), integer=True)
    for k, v in (("mip_rel_gap", 1e-9), ("mip_feasibility_tolerance", 1e-9),
                 ("primal_feasibility_tolerance", 1e-9), ("time_limit", limit)):
        h.setOptionValue(k, v)
    if mode == "presolve-off":
        h.setOptionValue("presolve", "off")
    if mode == "cancel":
        def watch():
            time.sleep(max(limit - (time.perf_counter() - t0), 0.0))
            h.cancelSolve()
        threading.Thread(target=watch, daemon=True).start()
    h.run()
    status = str(h.getModelStatus()).split(".")[-1]
print(json.dumps({"seconds": time.perf_counter() - t0, "status": status}))
"""

MODES = ("time_limit", "cancel", "presolve-off", "supervised")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--limit", type=float, default=1.0)
    p.add_argument("--cap", type=float, default=60.0)
    a = p.parse_args()
    print(f"{'users':>9} {'mode':<13} {'limit':>6} {'seconds':>9} status")
    for n in a.sizes:
        for mode in MODES:
            try:
                done = subprocess.run([sys.executable, "-c", CASE, str(n), mode, str(a.limit)],
                                      capture_output=True, text=True, timeout=a.cap, check=False)
                r = json.loads(done.stdout.strip().splitlines()[-1])
                took, status = f"{r['seconds']:9.2f}", r["status"]
            except subprocess.TimeoutExpired:
                took, status = f"> {a.cap:g}".rjust(9), "killed"
            print(f"{n:>9,} {mode:<13} {a.limit:>6g} {took} {status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
