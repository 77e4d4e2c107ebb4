"""treatalloc validate PATH [--heuristic NAME|module:function ...] [--exact highs] [--csv OUT]."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from typing import Any

#: exit code when a heuristic returned an infeasible or invalid allocation (or raised)
EXIT_HEURISTIC_FAILED = 5

HELP = (
    "validate heuristics against the exact optimum over an instance file or a folder of "
    "instances; exit 5 when a heuristic returns an infeasible or invalid allocation"
)

EPILOG = """\
heuristics: a registered solver name (greedy, dual, ...) or a user function
f(instance) -> assignment named module:function (the current directory is importable) or
path/to/file.py:function. The assignment is an int array, one option index per unit (-1 = none
for at-most-one), or a DataFrame with the instance's unit and option columns.

reference: the exact solver's proven optimum; when it stops early (--time-limit), the
instance's recorded [reference] objective, else its best bound. gap % = 100 * (reference -
objective) / max(1, |reference|).

exit codes: 0 every heuristic returned a feasible allocation; 5 at least one returned an
infeasible or invalid allocation, returned nothing, or raised; 2 bad input (a module:function that
cannot be imported, a missing path); 1 internal error.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("path", nargs="+", help="instance.toml, or a folder searched for instance.toml")
    p.add_argument("--heuristic", "-H", action="append", default=None, metavar="NAME",
                   help="solver name or module:function, repeatable (default: greedy)")
    p.add_argument("--exact", default="highs", metavar="SOLVER",
                   help="exact reference solver (default: highs)")
    p.add_argument("--time-limit", type=float, default=None, metavar="S",
                   help="seconds per solve (exact reference and built-in heuristics)")
    p.add_argument("--csv", default=None, metavar="OUT.csv",
                   help="write the table as CSV (or .parquet), atomically")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")


def _num(x: float | None, digits: int = 10) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{digits}g}"


def table_cells(rows: Sequence[Any]) -> tuple[list[str], list[list[str]]]:
    """Header and text cells of the printed table."""
    header = ["instance", "units", "heuristic", "objective", "optimum/bound", "gap %",
              "seconds", "feasible"]
    cells = []
    for r in rows:
        ref = r.optimum if r.optimum is not None else r.bound
        kind = {"optimum": "", "recorded": " (recorded)", "bound": " (bound)"}.get(
            r.reference_kind, f" ({r.reference_kind})" if ref is None else ""
        )
        feasible = {True: "yes", False: "NO", None: "-"}[r.feasible]
        cells.append([
            r.instance, str(r.units), r.heuristic, _num(r.objective),
            _num(ref) + kind, "-" if r.gap_pct is None else f"{r.gap_pct:.4g}",
            f"{r.seconds:.3f}", feasible,
        ])
    return header, cells


def plain_table(header: list[str], cells: list[list[str]]) -> str:
    """Aligned text: numbers right-aligned, text left-aligned."""
    right = {1, 3, 4, 5, 6}
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h)
              for i, h in enumerate(header)]

    def line(vals: list[str]) -> str:
        pairs = enumerate(zip(vals, widths, strict=True))
        return "  ".join(v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in pairs).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, cells)])


def print_table(rows: Sequence[Any]) -> None:
    header, cells = table_cells(rows)
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        t = Table(*header)
        for i in (1, 3, 4, 5, 6):
            t.columns[i].justify = "right"
        for c in cells:
            t.add_row(*c, style="bold red" if c[-1] == "NO" else None)
        Console().print(t)
    else:
        print(plain_table(header, cells))


def run(args: argparse.Namespace) -> int:
    from engine.validate import rows_frame, validate
    from treatalloc.cli import EXIT_OK
    from treatalloc.console import stdout_to_stderr, write_table

    if args.csv:
        from formulations.atomic_write import TABLE_SUFFIXES
        from treatalloc.outputs import check_file

        check_file(args.csv, "--csv", TABLE_SUFFIXES)
    # `mymod:f` must import from the folder the user runs the command in
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    heuristics = args.heuristic or ["greedy"]
    show = not args.quiet and sys.stderr.isatty()
    with stdout_to_stderr():
        rows = validate(
            args.path, heuristics, exact=args.exact, time_limit=args.time_limit,
            show_progress=show,
        )
    print_table(rows)
    from treatalloc.interrupts import EXIT_INTERRUPTED, acknowledge

    if acknowledge():
        print("treatalloc validate: interrupted: the rows above are those finished; "
              "nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    failed = [r for r in rows if r.failed]
    for r in failed:
        print(f"{r.instance}: {r.heuristic}: {r.message}", file=sys.stderr)
    notes = {(r.instance, r.message) for r in rows if r.message and not r.failed}
    for inst, msg in sorted(notes):
        print(f"{inst}: {msg}", file=sys.stderr)
    if args.csv:
        write_table(rows_frame(rows), args.csv)
    return EXIT_HEURISTIC_FAILED if failed else EXIT_OK
