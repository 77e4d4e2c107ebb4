"""Old commit against the working tree, side by side in one run: the one-budget ``dual`` and
``dual-exact`` (the cases of bench_dual_scale.py --case one and bench_dual_exact.py).

The old commit is exported (``git archive``) into a temporary folder; each repeat runs one
fresh process per tree, alternating old and new, so both see the same machine load. A process
generates the instance (not timed) and times ``solve``; the table shows each tree's runs, the
medians and new / old.

Usage: .venv/bin/python benchmarks/bench_old_new.py OLD_COMMIT [--case dual|exact|both]
       [--users N] [--repeats R]
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
import json, sys, time
import engine
from engine import solve
from formulations.synthetic import synthetic_instance
solver, users = sys.argv[1], int(sys.argv[2])
inst = synthetic_instance(users, 5, 1, seed=0)
t = time.perf_counter()
r = solve(inst, solver)
print(json.dumps({"seconds": time.perf_counter() - t, "status": r.status, "gap": r.gap,
                  "objective": r.objective, "where": engine.__file__}))
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


def run(tree: Path, solver: str, users: int) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", CASE, solver, str(users)], env=env,
                          capture_output=True, text=True, check=True, cwd=tree)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert str(out["where"]).startswith(str(tree)), (out["where"], tree)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old")
    p.add_argument("--case", choices=["dual", "exact", "both"], default="both")
    p.add_argument("--users", type=int, default=None,
                   help="default 10,000,000 for dual, 100,000 for dual-exact")
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    cases = {"dual": [("dual", 10_000_000)], "exact": [("dual-exact", 100_000)],
             "both": [("dual", 10_000_000), ("dual-exact", 100_000)]}[a.case]
    with tempfile.TemporaryDirectory() as tmp:
        old = export(a.old, Path(tmp))
        for solver, default_users in cases:
            users = a.users or default_users
            times: dict[str, list[float]] = {"old": [], "new": []}
            for rep in range(a.repeats):
                for label, tree in (("old", old), ("new", REPO)):
                    r = run(tree, solver, users)
                    times[label].append(float(r["seconds"]))  # type: ignore[arg-type]
                    print(f"{solver} {users:,} {label} run {rep}: {r['seconds']:.2f} s  "
                          f"status {r['status']}  gap {r['gap']:.2e}", flush=True)
            mo, mn = statistics.median(times["old"]), statistics.median(times["new"])
            print(f"{solver} {users:,}: median old {mo:.2f} s, new {mn:.2f} s, "
                  f"new / old {mn / mo:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
