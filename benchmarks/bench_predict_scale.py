"""``treatalloc predict`` to a Parquet instance at 10^7 users x 5 arms: wall time, peak memory.

    .venv/bin/python benchmarks/bench_predict_scale.py [--users 10000000] [--solve]
        [--workdir DIR] [--compare-tree DIR] [--repeats R]

Set-up (not timed): a TSM-SL model fitted on a small simulated campaign (learners.simulate,
setting plentiful, 20,000 users, 3 epochs: the weights do not matter for the speed), and a
features-only Parquet table of ``--users`` simulated users. Then ``treatalloc predict MODEL
DATA --budget 0.5 --per-capita --out INSTANCE --parquet`` runs in a child process; its wall time
and peak resident memory (ru_maxrss of the child) are reported beside the size of the float64
value + cost arrays (2 x users x 5 x 8 bytes), the yardstick of the issue (peak <= 3x). With
``--solve`` the instance is then solved with ``treatalloc solve INSTANCE --solver dual``.

``--compare-tree DIR`` (a checkout of another commit, e.g. ``git worktree add /tmp/old HEAD~1``)
runs the same predict from that tree too, alternating old and new ``--repeats`` times, and
checks that both write the same table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def child(cmd: list[str], cwd: Path = REPO) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in bytes of this one child (os.wait4's rusage), stdout)."""
    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.read()}")
        return wall, usage.ru_maxrss * 1024.0, out.read()


def write_users(folder: Path, n: int, chunk: int = 1_000_000) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from formulations.atomic_write import atomic_write_text
    from learners.simulate import FEATURES, SETTINGS, _world

    rng = np.random.default_rng(0)
    writer = None
    folder.mkdir(parents=True, exist_ok=True)
    for s in range(0, n, chunk):
        k = min(chunk, n - s)
        w = _world(k, SETTINGS["plentiful"], rng)
        frame = w.features.copy()
        frame.insert(0, "user", np.arange(s, s + k, dtype=np.int64))
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(folder / "data.parquet", table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    feats = ", ".join(f'"{f}"' for f in FEATURES)
    atomic_write_text(folder / "data.toml", f'name = "users"\ntable = "data.parquet"\n'
                      f'unit = "user"\nfeatures = [{feats}]\n')


def set_up(tmp: Path, n_users: int) -> None:
    """The model (``tmp/model``) and the users' table (``tmp/users``), each unless it exists."""
    py = sys.executable
    sim, model, users = tmp / "sim", tmp / "model", tmp / "users"
    if not (model / "model.toml").exists():
        subprocess.run([py, "-m", "treatalloc", "simulate", str(sim), "--setting", "plentiful",
                        "--users", "20000", "--obs", "0", "--force"], check=True, cwd=REPO,
                       capture_output=True)
        subprocess.run([py, "-m", "treatalloc", "fit", str(sim / "train"), "--validation",
                        str(sim / "validation"), "--method", "tsm-sl", "--epochs", "3",
                        "--model-dir", str(model), "--force", "--quiet"], check=True, cwd=REPO,
                       capture_output=True)
    if not (users / "data.toml").exists():
        t = time.perf_counter()
        write_users(users, n_users)
        print(f"set-up: wrote {n_users:,} users in {time.perf_counter() - t:.1f} s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=10_000_000)
    ap.add_argument("--solve", action="store_true")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--compare-tree", default=None, metavar="DIR")
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    tmp = Path(args.workdir or tempfile.mkdtemp(prefix="bench_predict_"))
    py = sys.executable
    model, users, inst = tmp / "model", tmp / "users", tmp / "instance"
    set_up(tmp, args.users)
    arrays = 2 * args.users * 5 * 8
    trees = [("new", REPO)] + ([("old", Path(args.compare_tree))] if args.compare_tree else [])
    for r in range(args.repeats):
        for label, tree in trees:
            out = inst if label == "new" else tmp / "instance_old"
            wall, peak, _ = child([py, "-m", "treatalloc", "predict", str(model), str(users),
                                   "--budget", "0.5", "--per-capita", "--out", str(out),
                                   "--parquet", "--force", "--json"], cwd=tree)
            print(f"{label} run {r + 1}: predict {args.users:,} users x 5 arms -> Parquet: "
                  f"{wall:.1f} s wall, peak RSS {peak / 2**30:.2f} GiB = {peak / arrays:.2f} x "
                  f"the value+cost arrays ({arrays / 2**30:.2f} GiB)")
    if args.compare_tree:
        import pandas as pd

        same = pd.read_parquet(inst / "options.parquet").equals(
            pd.read_parquet(tmp / "instance_old" / "options.parquet"))
        print(f"old and new tables identical: {same}")
    print(f"instance on disk: {sum(f.stat().st_size for f in inst.iterdir()) / 2**20:.0f} MiB")
    if args.solve:
        wall, peak, text = child([py, "-m", "treatalloc", "solve", str(inst), "--solver", "dual",
                                 "--json"])
        print(f"solve --solver dual: {wall:.1f} s wall, peak RSS {peak / 2**30:.2f} GiB; {text}")
    print(f"work folder: {tmp}", file=sys.stderr)
    if not args.workdir:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
