"""treatalloc generate: write a seeded synthetic marketing instance."""

from __future__ import annotations

import argparse

HELP = "write a seeded synthetic marketing instance (lognormal users, diminishing returns)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", help="output folder (instance.toml and its table are written there)")
    p.add_argument("--users", "-n", type=int, default=1000)
    p.add_argument(
        "--treatments", "-m", type=int, default=5, help="including the zero-cost control"
    )
    p.add_argument("--budgets", "-k", type=int, default=1)
    p.add_argument(
        "--budget-fraction",
        type=float,
        default=0.3,
        help="each limit as a fraction of the maximum spend (default 0.3)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--integral-costs", action="store_true", help="costs in integer cents")
    p.add_argument("--choose", choices=["exactly-one", "at-most-one"], default="exactly-one")
    p.add_argument("--format", choices=["csv", "parquet"], default="csv")
    p.add_argument("--name", default=None)
    p.add_argument("--force", action="store_true",
                   help="overwrite an instance already at OUT (refused without it)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from formulations import write_instance
    from formulations.errors import UsageError
    from formulations.synthetic import synthetic_instance
    from treatalloc.outputs import check_file

    # before any work: never overwrite silently, and the target must be writable
    out = Path(args.out)
    manifest = out if out.suffix == ".toml" else out / "instance.toml"
    stem = "options" if manifest.stem == "instance" else manifest.stem
    table = manifest.parent / f"{stem}.{args.format}"
    existing = [p for p in (manifest, table) if p.exists()]
    if existing and not args.force:
        raise UsageError(f"generate: {str(existing[0])!r} exists; pass --force to overwrite it")
    check_file(manifest, "OUT")

    inst = synthetic_instance(
        args.users,
        args.treatments,
        args.budgets,
        budget_fraction=args.budget_fraction,
        seed=args.seed,
        integral_costs=args.integral_costs,
        choose=args.choose,
        name=args.name,
    )
    path = write_instance(inst, args.out, table_format=args.format)
    print(
        f"wrote {path} ({inst.n_units} units x {inst.max_options} options, "
        f"{inst.n_budgets} budget(s))"
    )
    return 0
