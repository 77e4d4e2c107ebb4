"""`dual` on MMKP-style instances: 100-400 classes x 10 items x 10 tight resources.

Each instance (formulations.synthetic_mmkp, correlated and uncorrelated kinds, several seeds)
is written in OR-Library's MMKP format and read back through the converter
(formulations.orlib.read_mmkp), then solved by ``dual``; the table shows the allocation's gap
to the dual's own bound, the time, and, with ``--highs S``, HiGHS with that time limit beside
it (a better allocation or bound where it finds one).

Usage: .venv/bin/python benchmarks/bench_dual_mmkp.py [--classes 100 200 400] [--seeds 3]
       [--highs 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from engine import solve
from formulations.orlib import read_mmkp
from formulations.synthetic_mmkp import mmkp_instance, write_mmkp


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--classes", type=int, nargs="+", default=[100, 200, 400])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--highs", type=float, default=None, metavar="S")
    a = p.parse_args()
    print(f"{'kind':<13} {'classes':>7} {'seed':>4} {'dual value':>12} {'dual bound':>12} "
          f"{'gap %':>7} {'seconds':>7}" + ("   highs value  highs bound" if a.highs else ""))
    gaps: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for correlated in (True, False):
            kind = "correlated" if correlated else "uncorrelated"
            for n in a.classes:
                for seed in range(a.seeds):
                    path = write_mmkp(mmkp_instance(n, seed=seed, correlated=correlated),
                                      Path(tmp) / f"{kind}_{n}_{seed}.txt")
                    inst = read_mmkp(path)
                    t = time.perf_counter()
                    r = solve(inst, "dual")
                    dt = time.perf_counter() - t
                    assert r.objective is not None and r.bound is not None
                    gap = 100 * (r.bound - r.objective) / abs(r.bound)
                    gaps.setdefault(kind, []).append(gap)
                    line = (f"{kind:<13} {n:>7} {seed:>4} {r.objective:>12.2f} "
                            f"{r.bound:>12.2f} {gap:>7.3f} {dt:>7.2f}")
                    if a.highs:
                        h = solve(inst, "highs", time_limit=a.highs)
                        hv = "-" if h.objective is None else f"{h.objective:.2f}"
                        hb = "-" if h.bound is None else f"{h.bound:.2f}"
                        line += f"  {hv:>12} {hb:>12}"
                    print(line, flush=True)
    for kind, g in gaps.items():
        print(f"{kind}: max gap {max(g):.3f} %, median {statistics.median(g):.3f} % "
              f"over {len(g)} instances")
    return 0 if all(max(g) < 1.0 for g in gaps.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
