"""treatalloc convert SRC OUT: OR-Library files to v1 instances; a v1 instance to .lp / .mps."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = (
    "convert OR-Library MKP / MMKP files to v1 instance folders, re-write an instance's table, "
    "or export an instance's explicit pyomo model (.lp, .mps)"
)

FORMATS = ("auto", "orlib-mknap", "mmkp", "v1")
BEST_KNOWN_NAME = "best-feasible-slns.txt"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "src", help="an OR-Library .txt file, or a v1 instance (instance.toml or its folder)"
    )
    p.add_argument(
        "out",
        help="output folder (one sub-folder per problem when SRC holds several), "
        "or a .lp / .mps file to export the model",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="auto",
        help="format of SRC (default: auto, by file layout)",
    )
    p.add_argument(
        "--problem",
        type=int,
        default=None,
        metavar="I",
        help="convert only problem I (0-based) of a multi-problem file",
    )
    p.add_argument("--table-format", choices=["csv", "parquet"], default="csv")
    p.add_argument(
        "--best-known",
        default=None,
        metavar="FILE",
        help=f"OR-Library mkcbres table of best-known values (default: {BEST_KNOWN_NAME} "
        "beside SRC, where present)",
    )


def _is_v1(src: Path) -> bool:
    return src.suffix == ".toml" or (src.is_dir() and (src / "instance.toml").exists())


def _read(args: argparse.Namespace) -> list:
    from formulations.errors import InstanceError, UsageError
    from formulations.orlib import detect_format, read_best_known, read_mknap, read_mmkp

    src = Path(args.src)
    fmt = args.format
    if fmt == "auto":
        if _is_v1(src):
            fmt = "v1"
        elif not src.exists():
            raise InstanceError(str(src), "", "file not found")
        else:
            fmt = detect_format(src)
    if fmt == "v1":
        from formulations.cluster_program import ClusterProgram
        from formulations.problem_file import load_problem

        loaded = load_problem(src)
        if isinstance(loaded, ClusterProgram):
            raise UsageError(f"convert: {str(src)!r} is a cluster program (kind = 'clusters'); "
                             "convert writes allocation instances and .lp / .mps of them")
        return [loaded]
    if fmt == "mmkp":
        return [read_mmkp(src)]
    bk_path = Path(args.best_known) if args.best_known else src.parent / BEST_KNOWN_NAME
    best_known = read_best_known(bk_path) if args.best_known or bk_path.exists() else None
    return read_mknap(src, best_known=best_known)


def run(args: argparse.Namespace) -> int:
    from formulations import write_instance
    from formulations.errors import UsageError

    instances = _read(args)
    if args.problem is not None:
        if not 0 <= args.problem < len(instances):
            raise UsageError(
                f"--problem {args.problem}: {args.src} holds {len(instances)} problem(s), "
                f"expected 0..{len(instances) - 1}"
            )
        instances = [instances[args.problem]]
    out = Path(args.out)
    if out.suffix.lower() in (".lp", ".mps"):
        if len(instances) != 1:
            raise UsageError(
                f"{args.out}: a model file holds one problem; {args.src} has {len(instances)}, "
                "choose one with --problem I"
            )
        from formulations.pyomo_model import export_model  # lazy: pyomo is heavy

        export_model(instances[0], out)
        print(f"wrote {out} ({instances[0].name}: {instances[0].n_rows} binary variables)")
        return 0
    if out.suffix.lower() in (".csv", ".parquet", ".txt", ".json"):
        raise UsageError(f"{args.out}: expected a folder, or a file name ending in .lp or .mps")
    for inst in instances:
        target = out if len(instances) == 1 else out / inst.name
        path = write_instance(inst, target, table_format=args.table_format)
        ref = inst.reference
        note = (
            f"reference {ref.objective:.10g} ({'proven' if ref.proven else 'not proven'})"
            if ref
            else "no reference"
        )
        print(
            f"wrote {path} ({inst.n_units} units, {inst.n_rows} rows, "
            f"{inst.n_budgets} budget(s); {note})"
        )
    return 0
