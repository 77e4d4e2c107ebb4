"""treatalloc predict MODEL DATA --budget B [--per-capita] --out INSTANCE_DIR: an instance."""

from __future__ import annotations

import argparse
import json

HELP = ("predict every (unit, arm) with a fitted model and write a v1 allocation instance "
        "(incremental value and cost over control, one budget) for `treatalloc solve`")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from treatalloc.commands.experiment_args import add_data_flags

    p.add_argument("model", metavar="MODEL", help="a model folder written by `treatalloc fit`")
    p.add_argument("data", metavar="DATA", help="data.toml (features are enough) or a bare "
                   "table with --features")
    p.add_argument("--budget", type=float, required=True, metavar="B",
                   help="the incremental budget (total, or per unit with --per-capita)")
    p.add_argument("--per-capita", action="store_true", help="B is per unit: the limit is B x N")
    p.add_argument("--out", required=True, metavar="INSTANCE_DIR", help="folder to write")
    p.add_argument("--parquet", action="store_true", help="write the table as Parquet")
    p.add_argument("--parts", type=int, default=None, metavar="N",
                   help="write the table as a folder of N Parquet parts of consecutive units "
                        "(implies --parquet), for `treatalloc solve --backend dask`")
    p.add_argument("--backend", choices=["stream", "dask"], default="stream",
                   help="with --parts: stream the table through this process (default), or "
                        "let Dask workers predict and write a part each (Parquet features)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address for --backend dask (default: a LocalCluster)")
    p.add_argument("--workers", type=int, default=2, metavar="N",
                   help="LocalCluster worker processes for --backend dask (default 2)")
    p.add_argument("--name", default=None, help="instance name (default METHOD_DATA)")
    p.add_argument("--trust", action="append", default=[], metavar="PREFIX",
                   help="scikit-learn models: also trust types under this module prefix")
    p.add_argument("--force", action="store_true", help="replace an existing INSTANCE_DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_data_flags(p)


def run(args: argparse.Namespace) -> int:
    import sys

    from formulations.errors import UsageError
    from learners.instance_writer import write_predictions
    from learners.provider import total_budget
    from learners.saved import load_model
    from treatalloc.commands.experiment_args import check_output_dir, is_table, load_units

    if args.parts is not None and args.parts < 1:
        raise UsageError(f"--parts: expected a positive number of parts, got {args.parts}")
    if args.backend == "dask" and args.parts is None:
        raise UsageError("--backend dask: give --parts N (the workers write one part each)")
    if args.backend != "dask" and (args.scheduler is not None or args.workers != 2):
        raise UsageError("--scheduler and --workers: only with --backend dask")
    if args.workers < 1:
        raise UsageError(f"--workers: expected a positive number of workers, got {args.workers}")
    check_output_dir(args.out, "--out", force=args.force)
    provider = load_model(args.model, trusted=tuple(args.trust))
    data = load_units(args.data, args)
    if not is_table(args.data):
        from formulations.experiment_data import is_experiment_manifest, load_experiment

        if is_experiment_manifest(args.data):
            from learners.provider import arm_columns

            arm_columns(tuple(provider.arms), load_experiment(args.data))
    limit = total_budget(args.budget, data.n_units, per_capita=args.per_capita)
    if args.backend == "dask":
        from formulations.feature_chunks import FeatureChunks
        from learners.dask_predict import write_predictions_dask

        if not isinstance(data, FeatureChunks):
            raise UsageError(f"--backend dask: DATA {args.data!r} must have a Parquet table "
                             "(a file or a folder of parts), which the workers read in place")
        written = write_predictions_dask(
            args.model, data, limit, args.out, parts=args.parts, trusted=tuple(args.trust),
            dask_options={"scheduler": args.scheduler, "n_workers": args.workers},
            name=args.name, force=args.force, provider=provider)
    else:
        written = write_predictions(provider, data, limit, args.out,
                                    table_format="parquet" if args.parquet or args.parts
                                    else "csv", name=args.name, force=args.force,
                                    parts=args.parts)
    if limit >= written.all_max_spend:
        print(f"treatalloc predict: warning: the limit {limit:.6g} is at least the predicted "
              f"spend of giving every unit its most valuable arm ({written.all_max_spend:.6g}):"
              " the budget does not bind", file=sys.stderr)
    summary = {"instance": str(written.path), "units": written.n_units, "rows": written.n_rows,
               "arms": list(provider.arms), "limit": written.limit,
               "all_max_spend": written.all_max_spend, "method": provider.method}
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"instance   {written.path}/instance.toml")
    print(f"units      {written.n_units:,} x {len(provider.arms)} arms ({provider.method})")
    print(f"budget     {written.limit:.10g} of incremental cost (predicted spend of every "
          f"unit's most valuable arm: {written.all_max_spend:.10g})")
    backend = " --backend dask" if args.parts else ""
    print(f"next       treatalloc solve {written.path} --solver dual{backend}")
    return 0
