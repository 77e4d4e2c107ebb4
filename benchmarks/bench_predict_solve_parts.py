"""``predict --parts`` then ``solve --backend dask``: a fitted model to a certified allocation.

    .venv/bin/python benchmarks/bench_predict_solve_parts.py [--users 100000000] [--parts 50]
        [--workers 2] [--workdir DIR] [--skip-solve] [--skip-predict]
        [--predict-backend stream|dask|both]

Set-up (timed, not part of the figure): the TSM-SL model and the features-only Parquet table of
``--users`` simulated users of bench_predict_scale.py (13 features, one file written in chunks of
1,000,000 rows). Then, each in a child process whose resident memory is sampled every 0.2 s with
psutil (the process itself = the driver; its descendants = the Dask nannies and workers):

1. ``treatalloc predict MODEL USERS --budget 0.5 --per-capita --out INSTANCE --parts P``: the
   features are streamed 500,000 rows at a time, the instance written as P Parquet parts
   (``--predict-backend dask``: ``--backend dask --workers W``, every part by a worker);
2. ``treatalloc solve INSTANCE --solver dual --backend dask -O n_workers=W --out ALLOC --json``.

Reported: wall time, peak RSS of the driver, peak of the sum over the workers (an upper
estimate: shared pages count once per process), the solve's status, objective, bound and gap.
``--workdir`` keeps the data (and reuses what is already there; ``--skip-predict`` reuses the
instance too); without it a temporary folder is used and removed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def run_sampled(cmd: list[str], interval: float = 0.2) -> tuple[float, int, int, str]:
    """(wall s, peak driver RSS, peak sum of descendants' RSS, stdout) of one child."""
    import psutil

    peaks = [0, 0]
    stop = threading.Event()
    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, cwd=REPO)
        ps = psutil.Process(proc.pid)

        def sample() -> None:
            while not stop.is_set():
                with contextlib.suppress(psutil.Error):
                    peaks[0] = max(peaks[0], ps.memory_info().rss)
                    kids = 0
                    for child in ps.children(recursive=True):
                        with contextlib.suppress(psutil.Error):
                            kids += child.memory_info().rss
                    peaks[1] = max(peaks[1], kids)
                stop.wait(interval)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        rc = proc.wait()
        stop.set()
        thread.join()
        wall = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        if rc:
            raise SystemExit(f"{' '.join(cmd)} failed ({rc}):\n{err.read()[-4000:]}")
        return wall, peaks[0], peaks[1], out.read()


def predict(py: str, model: Path, users: Path, inst: Path, parts: int, n_users: int,
            backend: str = "stream", workers: int = 2) -> None:
    arrays = 2 * n_users * 5 * 8
    extra = ["--backend", "dask", "--workers", str(workers)] if backend == "dask" else []
    wall, driver, kids, _ = run_sampled([py, "-m", "treatalloc", "predict", str(model),
                                         str(users), "--budget", "0.5", "--per-capita", "--out",
                                         str(inst), "--parts", str(parts), "--force", "--json",
                                         *extra])
    size = sum(f.stat().st_size for f in (inst / "options").iterdir())
    where = (f", workers (sum) {kids / 2**30:.2f} GiB ({workers} workers)"
             if backend == "dask" else "")
    print(f"predict ({backend}) {n_users:,} users x 5 arms -> {parts} Parquet parts "
          f"({size / 2**30:.2f} GiB): {wall:.1f} s wall, peak RSS {driver / 2**30:.2f} GiB "
          f"({driver / arrays:.2f} x the value+cost arrays, {arrays / 2**30:.2f} GiB){where}",
          flush=True)


def same_tables(a: Path, b: Path) -> bool:
    """Whether two predicted instances hold the same parts with the same rows (bit for bit)."""
    import pyarrow.parquet as pq

    fa, fb = sorted((a / "options").iterdir()), sorted((b / "options").iterdir())
    if [f.name for f in fa] != [f.name for f in fb]:
        return False
    return all(pq.read_table(x).equals(pq.read_table(y)) for x, y in zip(fa, fb, strict=True))


def main() -> None:
    from bench_predict_scale import set_up

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=100_000_000)
    ap.add_argument("--parts", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--skip-solve", action="store_true")
    ap.add_argument("--skip-predict", action="store_true")
    ap.add_argument("--predict-backend", choices=["stream", "dask", "both"], default="stream",
                    help="predict in one process, on Dask workers, or both side by side (then "
                         "the two instances are compared part by part and the Dask one solved)")
    args = ap.parse_args()
    tmp = Path(args.workdir or tempfile.mkdtemp(prefix="bench_parts_"))
    tmp.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    model, users = tmp / "model", tmp / "users"
    inst, alloc = tmp / "instance", tmp / "alloc"
    set_up(tmp, args.users)
    if args.skip_predict and (inst / "instance.toml").exists():
        print("predict: skipped, the instance in the work folder is reused", flush=True)
    else:
        backends = ["stream", "dask"] if args.predict_backend == "both" else [
            args.predict_backend]
        for backend in backends:
            predict(py, model, users, inst.with_name(f"instance_{backend}"), args.parts,
                    args.users, backend, args.workers)
        if len(backends) == 2:
            print("the two instances are the same, part by part: "
                  f"{same_tables(tmp / 'instance_stream', tmp / 'instance_dask')}", flush=True)
        shutil.rmtree(inst, ignore_errors=True)
        inst.with_name(f"instance_{backends[-1]}").rename(inst)
    if not args.skip_solve:
        shutil.rmtree(alloc, ignore_errors=True)
        wall, driver, workers, out = run_sampled(
            [py, "-m", "treatalloc", "solve", str(inst), "--solver", "dual", "--backend", "dask",
             "-O", f"n_workers={args.workers}", "--out", str(alloc), "--json"])
        res = json.loads(out)
        print(f"solve --backend dask ({args.workers} workers): {wall:.1f} s wall, peak RSS "
              f"driver {driver / 2**30:.2f} GiB, workers (sum) {workers / 2**30:.2f} GiB; "
              f"status {res['status']}, objective {res['objective']:.10g}, bound "
              f"{res['bound']:.10g}, gap {res['gap']:.3g}", flush=True)
    print(f"work folder: {tmp}", file=sys.stderr)
    if not args.workdir:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
