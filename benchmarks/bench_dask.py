"""Benchmark the Dask backend of ``dual`` on a synthetic instance written as Parquet parts.

    .venv/bin/python benchmarks/bench_dask.py --users 20000000 --compare
    .venv/bin/python benchmarks/bench_dask.py --users 100000000 --users-per-part 2000000
    .venv/bin/python benchmarks/bench_dask.py --users 20000000 --budgets 3 \
        --users-per-part 999424 --compare

``--budgets K`` writes K budgets (each at 0.3 of its all-max spend) and solves them with the
distributed level bundle (engine/distributed/dask_multi.py); 999,424 = 61 x 16,384 users per
part puts every part on a kernel block boundary, where the distributed sums are added in the
in-memory order (see that module).

Steps: write N users x M options as Parquet parts chunk by chunk (never the whole table in
memory) into --data (default a fresh folder under /tmp, deleted afterwards unless --keep);
start a LocalCluster (processes, one thread per worker); solve with the dask backend, the driver
reading only the manifest; with --compare, close the cluster, load the same instance in memory
and solve it with the in-memory ``dual``, and compare objective and bound. Peak memory is the
largest sum of resident set sizes of this process and all its child processes (the Dask
nanny and worker processes), sampled every 0.2 s: an upper estimate, since shared pages are
counted once per process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path


class PeakRSS:
    """Sample the RSS of this process plus its children in a thread; remember the maximum."""

    def __init__(self, interval: float = 0.2) -> None:
        import psutil

        self._proc = psutil.Process()
        self._psutil = psutil
        self.interval = interval
        self.peak = 0
        self.peak_driver = 0
        self.peak_children = 0
        self.peak_child = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        try:
            driver = self._proc.memory_info().rss
            total = driver
            biggest = 0
            for child in self._proc.children(recursive=True):
                with contextlib.suppress(self._psutil.Error):
                    rss = child.memory_info().rss
                    total += rss
                    biggest = max(biggest, rss)
        except self._psutil.Error:
            return
        self.peak = max(self.peak, total)
        self.peak_driver = max(self.peak_driver, driver)
        self.peak_children = max(self.peak_children, total - driver)
        self.peak_child = max(self.peak_child, biggest)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def gib(x: float) -> str:
    return f"{x / 2**30:.2f} GiB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--options", type=int, default=5)
    ap.add_argument("--budgets", type=int, default=1)
    ap.add_argument("--users-per-part", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--persist", default="auto", choices=["auto", "true", "false"])
    ap.add_argument("--compare", action="store_true",
                    help="also solve in memory with dual and compare (needs the RAM)")
    ap.add_argument("--data", default=None, help="folder for the instance (default: /tmp/...)")
    ap.add_argument("--keep", action="store_true", help="keep the generated data")
    args = ap.parse_args(argv)

    from distributed import Client, LocalCluster

    from engine.distributed.dask_dual import solve_dual_dask
    from engine.distributed.parts import write_synthetic_parts

    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="bench_dask_"))
    report: dict[str, object] = {
        "users": args.users, "options": args.options, "users_per_part": args.users_per_part,
        "workers": args.workers, "budgets": args.budgets,
    }
    try:
        t = time.perf_counter()
        with PeakRSS() as mem_write:
            manifest = write_synthetic_parts(data / "inst", args.users, args.options,
                                             args.budgets, seed=args.seed,
                                             users_per_part=args.users_per_part)
        report["write_seconds"] = round(time.perf_counter() - t, 2)
        report["write_peak_rss"] = gib(mem_write.peak)
        report["parquet_bytes"] = gib(sum(f.stat().st_size for f in (data / "inst").rglob("*")
                                          if f.is_file()))
        print(f"wrote {manifest} in {report['write_seconds']} s", file=sys.stderr)

        with PeakRSS() as mem:
            t = time.perf_counter()
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
            report["cluster_start_seconds"] = round(time.perf_counter() - t, 2)
            t = time.perf_counter()
            # the workers write the allocation (a manifest's allocation is never gathered)
            res = solve_dual_dask(manifest, options={"client": client, "persist": args.persist,
                                                     "out": str(data / "allocation")})
            report["dask_seconds"] = round(time.perf_counter() - t, 2)
            client.close()
            cluster.close()
        report.update(
            dask_status=res.status, dask_objective=res.objective, dask_bound=res.bound,
            dask_gap=res.gap, dask_peak_rss_total=gib(mem.peak),
            dask_peak_rss_driver=gib(mem.peak_driver),
            dask_peak_rss_workers=gib(mem.peak_children),
            dask_peak_rss_largest_worker=gib(mem.peak_child),
            detail={k: v for k, v in res.detail.items()
                    if k in ("partitions", "persisted", "histogram_rounds", "bracket_increments",
                             "timings", "iterations", "aligned_partitions", "unit_check",
                             "core_units", "completion", "pair_swap_gain", "bundle_timings",
                             "fill_candidates", "fill_rounds", "fill_moves")},
        )
        print(json.dumps(report), file=sys.stderr)

        if args.compare:
            from engine import solve
            from formulations import load_instance

            with PeakRSS() as mem2:
                t = time.perf_counter()
                inst = load_instance(manifest)
                report["load_seconds"] = round(time.perf_counter() - t, 2)
                t = time.perf_counter()
                ref = solve(inst, "dual")
                report["numpy_seconds"] = round(time.perf_counter() - t, 2)
            obj_rel = abs(res.objective - ref.objective) / max(1.0, abs(ref.objective))
            bnd_rel = abs(res.bound - ref.bound) / max(1.0, abs(ref.bound))
            report.update(
                numpy_objective=ref.objective, numpy_bound=ref.bound,
                numpy_iterations=ref.detail.get("iterations"),
                numpy_timings=ref.detail.get("timings"),
                objective_rel_diff=obj_rel, bound_rel_diff=bnd_rel,
                equal_1e9=bool(obj_rel <= 1e-9 and bnd_rel <= 1e-9),
                numpy_peak_rss=gib(mem2.peak),
            )
    finally:
        if not args.keep and not args.data:
            shutil.rmtree(data, ignore_errors=True)
        elif not args.keep:
            shutil.rmtree(data / "inst", ignore_errors=True)
            shutil.rmtree(data / "allocation", ignore_errors=True)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
