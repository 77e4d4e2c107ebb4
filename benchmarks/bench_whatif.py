"""A P-point budget sweep against one ``dual`` solve of the same instance, side by side.

Target (issue 4): a 50-point sweep on 1,000,000 users x 5 options takes <= 2x one ``dual`` solve,
because the hull is computed once and reused (engine.dual.sweep.budget_sweep).

Timed, interleaved in each repeat so that load from other processes hits all of them alike:

* ``solve``: ``engine.solve(instance, "dual")`` at the instance's limit (one solve);
* ``sweep``: ``engine.dual.sweep.budget_sweep(instance, limits)``, the P integer allocations;
* ``whatif``: ``engine.whatif.whatif(..., curve=False)``, the sweep plus the table (LP value,
  lambda, spend, treatment mix per point): what ``treatalloc whatif`` runs without a plot;
* ``whatif+curve``: the same with ``curve=True``, which also computes the whole LP frontier for
  the plot (``--png`` / ``--html``).

Usage: ``.venv/bin/python benchmarks/bench_whatif.py [--users 1000000] [--points 50]
[--repeats 3] [--json FILE]``. Instance generation is not timed.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--options", type=int, default=5)
    ap.add_argument("--points", type=int, default=50)
    ap.add_argument("--start", type=float, default=0.25, help="first budget fraction")
    ap.add_argument("--stop", type=float, default=1.5, help="last budget fraction")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write the figures as JSON")
    args = ap.parse_args()

    from engine import solve
    from engine.whatif import scale_sweep, whatif
    from formulations.synthetic import synthetic_instance

    try:
        from engine.dual.sweep import budget_sweep  # type: ignore[import-not-found]
    except ImportError:
        print("engine.dual.sweep is not installed: nothing to compare", file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    inst = synthetic_instance(args.users, args.options, 1, seed=args.seed)
    gen = time.perf_counter() - t0
    sweep = scale_sweep(inst, np.linspace(args.start, args.stop, args.points))
    limits = sweep.limits[:, 0]
    print(f"instance: {inst.n_units:,} users x {inst.max_options} options, one budget "
          f"(generated in {gen:.1f} s, not timed); {args.points} points "
          f"x{args.start:g}..x{args.stop:g}; {args.repeats} repeats, interleaved")

    times: dict[str, list[float]] = {"solve": [], "sweep": [], "whatif": [], "whatif+curve": []}
    last: dict[str, object] = {}
    for rep in range(args.repeats):
        t = time.perf_counter()
        one = solve(inst, "dual")
        times["solve"].append(time.perf_counter() - t)
        t = time.perf_counter()
        results = budget_sweep(inst, limits)
        times["sweep"].append(time.perf_counter() - t)
        t = time.perf_counter()
        w = whatif(inst, sweep, solver="dual", curve=False)
        times["whatif"].append(time.perf_counter() - t)
        t = time.perf_counter()
        whatif(inst, sweep, solver="dual", curve=True)
        times["whatif+curve"].append(time.perf_counter() - t)
        last = {"solve": one, "results": results, "whatif": w}
        print(f"  repeat {rep + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()))

    med = {k: statistics.median(v) for k, v in times.items()}
    one = last["solve"]
    w = last["whatif"]
    gaps = w.table["gap"].to_numpy(dtype=float)  # type: ignore[attr-defined]
    statuses = sorted(set(w.table["status"]))  # type: ignore[attr-defined]
    print()
    print(f"{'':24s}{'median s':>10s}{'x one solve':>13s}")
    print(f"{'one dual solve':24s}{med['solve']:10.2f}{1.0:13.2f}")
    print(f"{f'budget_sweep, {args.points} pts':24s}{med['sweep']:10.2f}"
          f"{med['sweep'] / med['solve']:13.2f}")
    print(f"{f'whatif table, {args.points} pts':24s}{med['whatif']:10.2f}"
          f"{med['whatif'] / med['solve']:13.2f}")
    print(f"{'whatif table + curve':24s}{med['whatif+curve']:10.2f}"
          f"{med['whatif+curve'] / med['solve']:13.2f}")
    print()
    print(f"one solve: status {one.status}, gap {one.gap:.2e}")  # type: ignore[attr-defined]
    print(f"sweep: statuses {statuses}, max gap {np.nanmax(gaps):.2e}, "
          f"median gap {np.nanmedian(gaps):.2e}")
    print(f"machine: {platform.processor() or platform.machine()}, python "
          f"{platform.python_version()}; shared with other processes: timings are noisy")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "users": inst.n_units, "options": inst.max_options, "points": args.points,
            "repeats": args.repeats, "seconds": times, "median": med,
            "ratio_sweep": med["sweep"] / med["solve"],
            "ratio_whatif": med["whatif"] / med["solve"],
            "ratio_whatif_curve": med["whatif+curve"] / med["solve"],
            "max_gap": float(np.nanmax(gaps)),
        }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
