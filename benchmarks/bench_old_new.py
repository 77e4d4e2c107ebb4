"""Old commit against the working tree, side by side in one run: the one-budget ``dual`` and
``dual-exact`` (the cases of bench_dual_scale.py --case one and bench_dual_exact.py).

The old commit is exported (``git archive``) into a temporary folder; each repeat runs one
fresh process per tree, alternating the trees, so all see the same machine load. A process
generates the instance (not timed), resets its peak-memory counter (Linux
``/proc/self/clear_refs``), and times ``solve``; it reports the wall time, the phases
(``detail["timings"]``), the peak resident set during the solve (VmHWM after the reset: the
instance arrays plus everything the solve adds) and the process's ``ru_maxrss`` (including the
generation). The table shows each tree's runs, the medians and new / old.

``--variants`` chooses the trees: ``old`` (the commit), ``new`` (the working tree as installed:
with numba, the compiled kernels), ``new-numpy`` (the working tree with
``TREATALLOC_COMPILED=0``). Before the timed runs every tree solves once (untimed) at the
smallest size, so numba's JIT cache is filled (its compile time is reported then).

``--warm`` times the second solve of the instance in its process instead of the first (the
numba import and its kernels' loading, about 1 s, are then paid before the clock starts);
``--seeds`` runs every repeat on several instance seeds (the medians are over all of them).

Usage: .venv/bin/python benchmarks/bench_old_new.py OLD_COMMIT [--case dual|exact|both|three]
       [--sizes N [N ...]] [--repeats R] [--variants old new new-numpy] [--warm]
       [--seeds S [S ...]] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CASE = """
import json, resource, sys, time
from pathlib import Path
import engine
from engine import solve
from formulations.synthetic import synthetic_instance

def status_kb(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return -1

solver, users, options, budgets = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
inst = synthetic_instance(users, options, budgets, seed=int(sys.argv[6]))
arrays = inst.value.nbytes + inst.costs.nbytes
if sys.argv[5] == "1":  # --warm: the process has solved this instance once already
    solve(inst, solver)
try:
    Path("/proc/self/clear_refs").write_text("5")
    reset = True
except OSError:
    reset = False
t = time.perf_counter()
r = solve(inst, solver)
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "status": r.status, "gap": r.gap,
                  "objective": r.objective, "bound": r.bound, "where": engine.__file__,
                  "timings": r.detail.get("timings"), "hull": r.detail.get("hull"),
                  "arrays_bytes": arrays, "peak_kb": status_kb("VmHWM") if reset else -1,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def export(commit: str, folder: Path) -> Path:
    archive = folder / "old.tar"
    with archive.open("wb") as f:
        subprocess.run(["git", "-C", str(REPO), "archive", commit], stdout=f, check=True)
    tree = folder / "old"
    tree.mkdir()
    with tarfile.open(archive) as t:
        t.extractall(tree, filter="data")
    return tree


def run(tree: Path, solver: str, users: int, compiled: str | None = None,
        shape: tuple[int, int] = (5, 1), warm: bool = False, seed: int = 0) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    if compiled is not None:
        env["TREATALLOC_COMPILED"] = compiled
    done = subprocess.run([sys.executable, "-c", CASE, solver, str(users), str(shape[0]),
                           str(shape[1]), "1" if warm else "0", str(seed)], env=env,
                          capture_output=True, text=True, check=True, cwd=tree)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert str(out["where"]).startswith(str(tree)), (out["where"], tree)
    return out


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old")
    p.add_argument("--case", choices=["dual", "exact", "both", "three"], default="both",
                   help="three: dual with 3 budgets on users x 8 (bench_dual_scale --case three)")
    p.add_argument("--sizes", type=int, nargs="+", default=None,
                   help="users; default 10,000,000 for dual, 100,000 for dual-exact")
    p.add_argument("--users", type=int, default=None, help="one size (same as --sizes N)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--variants", nargs="+", default=["old", "new"],
                   choices=["old", "new", "new-numpy"])
    p.add_argument("--warm", action="store_true",
                   help="time the second solve of the instance in its process (imports, "
                        "numba's kernels and caches loaded), as in a notebook or a service")
    p.add_argument("--seeds", type=int, nargs="+", default=[0],
                   help="instance seeds; each repeat runs every seed (default 0)")
    p.add_argument("--json", default=None, help="also write every run as JSON lines here")
    a = p.parse_args()
    defaults = {"dual": 10_000_000, "dual-exact": 100_000}
    solvers = {"dual": ["dual"], "exact": ["dual-exact"], "both": ["dual", "dual-exact"],
               "three": ["dual"]}[a.case]
    shape = (8, 3) if a.case == "three" else (5, 1)
    if a.case == "three":
        defaults["dual"] = 1_000_000
    records: list[dict[str, object]] = []
    print(f"cores {os.cpu_count()}, load average at start {loadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        old = export(a.old, Path(tmp))
        trees = {"old": (old, None), "new": (REPO, None), "new-numpy": (REPO, "0")}
        for solver in solvers:
            sizes = a.sizes or ([a.users] if a.users else [defaults[solver]])
            for label in a.variants:  # warm-up: imports, numba's JIT cache
                tree, comp = trees[label]
                # "new" compiles at any size here, so that no timed run pays the JIT
                r = run(tree, solver, min(sizes), "1" if label == "new" else comp, shape)
                print(f"{solver} warm-up {label} at {min(sizes):,}: {r['seconds']:.2f} s "
                      f"(with any JIT compile)", flush=True)
            for users in sizes:
                times: dict[str, list[float]] = {v: [] for v in a.variants}
                peaks: dict[str, list[float]] = {v: [] for v in a.variants}
                for rep, seed in ((r, s) for r in range(a.repeats) for s in a.seeds):
                    for label in a.variants:
                        tree, comp = trees[label]
                        r = run(tree, solver, users, comp, shape, a.warm, seed)
                        r.update(solver=solver, users=users, variant=label, repeat=rep,
                                 seed=seed, load=loadavg())
                        records.append(r)
                        times[label].append(float(r["seconds"]))  # type: ignore[arg-type]
                        peak = float(r["peak_kb"]) * 1024 / float(r["arrays_bytes"])  # type: ignore[arg-type]
                        peaks[label].append(peak)
                        tim = {k: round(v, 2) for k, v in (r.get("timings") or {}).items()}  # type: ignore[attr-defined]
                        print(f"{solver} {users:,} seed {seed} {label} run {rep}: "
                              f"{r['seconds']:.2f} s  "
                              f"status {r['status']}  gap {r['gap']:.2e}  objective "
                              f"{r['objective']!r}  peak {peak:.2f}x arrays  maxrss "
                              f"{float(r['maxrss_kb']) / 2**20:.2f} GiB  {tim}  "  # type: ignore[arg-type]
                              f"load {r['load']}", flush=True)
                line = f"{solver} {users:,}: median"
                for label in a.variants:
                    line += (f" {label} {statistics.median(times[label]):.2f} s"
                             f" (peak {max(peaks[label]):.2f}x)")
                if "old" in a.variants:
                    mo = statistics.median(times["old"])
                    for label in a.variants:
                        if label != "old":
                            line += f", {label} / old {statistics.median(times[label]) / mo:.3f}"
                print(line, flush=True)
    print(f"load average at end {loadavg()}")
    if a.json:
        from formulations.atomic_write import atomic_write_text

        atomic_write_text(a.json, "".join(json.dumps(r) + "\n" for r in records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
