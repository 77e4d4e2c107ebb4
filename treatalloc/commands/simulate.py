"""treatalloc simulate OUT_DIR: simulated RCT splits, an observational log and their truth."""

from __future__ import annotations

import argparse

HELP = ("simulate a coupon campaign with known potential outcomes: RCT splits (train, "
        "validation, test), an observational log, and the truth in a separate file")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from learners.simulate import SETTINGS

    p.add_argument("out", metavar="OUT_DIR", help="folder to write (one sub-folder per split)")
    p.add_argument("--setting", default="scarce", choices=sorted(SETTINGS),
                   help="a frozen simulator setting (default scarce); see docs/learners.md")
    p.add_argument("--users", type=int, default=None, metavar="N",
                   help="RCT users in all (split train/validation/test by the setting's "
                        "fractions; default the setting's)")
    p.add_argument("--obs", type=int, default=None, metavar="N",
                   help="users in the observational log (0 for none; default the setting's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--parquet", action="store_true", help="write Parquet tables (default CSV)")
    p.add_argument("--force", action="store_true", help="replace an existing OUT_DIR")


def run(args: argparse.Namespace) -> int:
    from formulations.atomic_write import atomic_dir
    from learners.simulate import TRUTH_FILE, simulate, write_simulation
    from treatalloc.commands.experiment_args import check_output_dir

    check_output_dir(args.out, "OUT_DIR", force=args.force)
    sim = simulate(args.setting, n_users=args.users, n_obs=args.obs, seed=args.seed)
    with atomic_dir(args.out, replace=args.force) as tmp:
        write_simulation(sim, tmp, table_format="parquet" if args.parquet else "csv")
    print(f"setting    {sim.setting.name}: {sim.setting.description}")
    for name, d in sim.data.items():
        print(f"{name:<10} {d.n_units:>9,} users  {args.out}/{name}/data.toml  ({d.kind})")
    print(f"truth      {args.out}/{TRUTH_FILE}  (true value and cost of every user and arm; "
          "no learner reads it)")
    return 0
