"""treatalloc solve PATH --solver NAME [--time-limit S] [--json] [--out FILE]."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.result import SolveResult

HELP = "solve an instance file with a chosen solver and print (or --json) the result"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from engine.registry import BACKENDS

    p.add_argument("path", help="instance.toml or a cluster program's clusters.toml (or the "
                                 "folder holding either)")
    p.add_argument("--solver", default="highs", choices=sorted(BACKENDS), help="default: highs")
    p.add_argument("--time-limit", type=float, default=None, metavar="S", help="seconds")
    p.add_argument("--gap", type=float, default=None,
                   help="relative gap at which an exact solver may stop (status then 'feasible' "
                        "unless the proof reaches 1e-9)")
    p.add_argument("--json", action="store_true", help="print only one JSON object on stdout")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="write the allocation (.csv or .parquet), one row per unit; with "
                        "--backend dask a folder that the workers fill with Parquet parts")
    p.add_argument("--option", "-O", action="append", metavar="KEY=VALUE",
                   help="solver option, repeatable (e.g. -O threads=1, -O backend=dask)")
    p.add_argument("--backend", default=None, help="dual solver backend: numpy or dask")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address for --backend dask (default: a LocalCluster)")
    p.add_argument("--log", action="store_true",
                   help="the solver's own log on stderr (highs, ortools, ortools-cpsat, pyomo); "
                        "without it no solver output reaches the terminal")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    from engine import solve
    from formulations.atomic_write import TABLE_SUFFIXES
    from formulations.cluster_program import ClusterProgram
    from formulations.problem_file import load_problem
    from treatalloc.console import parse_key_values, stdout_to_stderr, write_table
    from treatalloc.interrupts import EXIT_INTERRUPTED, acknowledge
    from treatalloc.outputs import check_file

    options = parse_key_values(args.option, "--option")
    dask = args.solver == "dual" and (args.backend or options.get("backend")) == "dask"
    if args.out and not dask:
        check_file(args.out, "--out", TABLE_SUFFIXES)  # before any work
    if args.gap is not None:
        options["gap"] = args.gap
    if args.log:
        from engine.options import option_names
        from engine.registry import get_backend
        from formulations.errors import UsageError

        if "log" not in option_names(get_backend(args.solver).options_type):
            raise UsageError(f"--log: solver {args.solver!r} has no solver log")
        options["log"] = True
    if args.backend is not None:
        options["backend"] = args.backend
    if args.scheduler is not None:
        options["scheduler"] = args.scheduler
    options.setdefault("progress", not args.quiet and not args.json and sys.stderr.isatty())
    if args.solver == "dual" and options.get("backend") == "dask":
        return run_dask(args, options)
    loaded = load_problem(args.path)
    if isinstance(loaded, ClusterProgram):
        return run_clusters(args, loaded, options)
    instance = loaded
    with stdout_to_stderr():
        result = solve(instance, args.solver, time_limit=args.time_limit, options=options)
    header = f"{instance.name}  ({instance.n_units} units, {instance.n_rows} options)"
    if acknowledge():
        # Ctrl-C / SIGTERM: the best answer so far, and nothing written
        report(args, result, header, result.solver, written=False)
        return EXIT_INTERRUPTED
    if args.out and result.assignment is not None:
        write_table(result.assignment_frame(instance), args.out)
    report(args, result, header, result.solver, written=result.assignment is not None)
    return exit_code(result, has_allocation=result.assignment is not None)


def run_clusters(args: argparse.Namespace, program: Any, options: dict[str, Any]) -> int:
    """A cluster program: the exact count program at its limits (engine.solve); ``--out``
    writes the deployable table (cluster, option, count, share)."""
    from engine import solve
    from treatalloc.console import stdout_to_stderr, write_table
    from treatalloc.interrupts import EXIT_INTERRUPTED, acknowledge

    options.pop("progress", None)
    with stdout_to_stderr():
        plan = solve(program, args.solver, time_limit=args.time_limit, options=options)
    interrupted = acknowledge()
    if args.out and plan.counts is not None and not interrupted:
        write_table(plan.shares(), args.out)
    if args.json:
        print(json.dumps(plan.to_dict()))
    else:
        print(f"program    {program.name}  ({program.n_clusters} clusters, "
              f"{len(program.options)} options, {int(program.problem().sizes.sum())} units)")
        _print_certificate(plan.solver, plan.status, plan.objective, plan.bound, plan.gap,
                           plan.spend, plan.limits, plan.lam)
        print("mix        " + ", ".join(f"{o} {v:.3f}" for o, v in plan.mix.items()))
        print(f"seconds    {plan.seconds:.3f}")
        if plan.detail.get("message"):
            print(f"message    {plan.detail['message']}")
        if args.out:
            written = plan.counts is not None and not interrupted
            print(f"allocation {'written to ' + args.out if written else 'none: nothing written'}")
    if interrupted:
        return EXIT_INTERRUPTED
    from treatalloc.cli import EXIT_INFEASIBLE, EXIT_INTERNAL, EXIT_LIMIT, EXIT_OK

    if plan.status in ("optimal", "feasible"):
        return EXIT_OK
    if plan.status == "infeasible":
        return EXIT_INFEASIBLE
    if plan.status == "time_limit":
        return EXIT_OK if plan.counts is not None else EXIT_LIMIT
    return EXIT_INTERNAL


def run_dask(args: argparse.Namespace, options: dict[str, object]) -> int:
    """``--solver dual --backend dask``: the driver reads only the manifest; the workers read
    their Parquet parts and, with ``--out DIR``, write the allocation as Parquet parts there."""
    from engine.distributed.dask_dual import solve_dual_dask
    from formulations.errors import UsageError
    from treatalloc.console import stdout_to_stderr

    if not args.out:
        raise UsageError(
            "--backend dask: the allocation is written by the workers, never gathered here; "
            "give --out FOLDER (a folder of Parquet parts)"
        )
    if args.out:
        if args.out.lower().endswith((".csv", ".gz", ".txt")):
            raise UsageError(
                f"--out {args.out!r}: with --backend dask the allocation is written by the "
                "workers as a folder of Parquet parts; give a folder name"
            )
        from treatalloc.outputs import check_folder

        check_folder(args.out, "--out")
        options["out"] = args.out
    with stdout_to_stderr():
        result = solve_dual_dask(args.path, time_limit=args.time_limit, options=options)
    d = result.detail
    header = (f"{d.get('name', args.path)}  ({d.get('units', '?')} units, "
              f"{d.get('rows', '?')} options, {d.get('partitions', '?')} Parquet parts)")
    solver = f"{result.solver}  ({d.get('workers', '?')} Dask workers)"
    from treatalloc.interrupts import EXIT_INTERRUPTED, acknowledge

    if acknowledge():
        report(args, result, header, solver, written=result.allocation_path is not None)
        return EXIT_INTERRUPTED
    report(args, result, header, solver, written=result.allocation_path is not None)
    return exit_code(result, has_allocation=result.allocation_path is not None)


def report(
    args: argparse.Namespace, result: SolveResult, header: str, solver: str, *, written: bool
) -> None:
    """Print the result as one JSON object (--json) or as aligned text."""
    if args.json:
        print(json.dumps(result.to_dict()))
        return
    print(f"instance   {header}")
    _print_certificate(solver, result.status, result.objective, result.bound, result.gap,
                       result.usage, result.limits, result.multipliers)
    print(f"seconds    {result.seconds:.3f}")
    if result.message:
        print(f"message    {result.message}")
    if args.out:
        print(f"allocation {'written to ' + args.out if written else 'none: nothing written'}")


def exit_code(result: SolveResult, *, has_allocation: bool) -> int:
    """0 optimal/feasible (or a time limit with an allocation), 3 infeasible, 4 limit without
    an allocation, 1 solver error (ARCHITECTURE.md)."""
    from treatalloc.cli import EXIT_INFEASIBLE, EXIT_INTERNAL, EXIT_LIMIT, EXIT_OK

    if result.status in ("optimal", "feasible"):
        return EXIT_OK
    if result.status == "infeasible":
        return EXIT_INFEASIBLE
    if result.status == "time_limit":
        return EXIT_OK if has_allocation else EXIT_LIMIT
    return EXIT_INTERNAL


def _print_certificate(
    solver: str, status: str, objective: float | None, bound: float | None, gap: float | None,
    usage: Mapping[str, float], limits: Mapping[str, float], multipliers: Mapping[str, float],
) -> None:
    """The summary lines every solve prints, for an instance and for a cluster program."""
    from treatalloc.console import fmt

    print(f"solver     {solver}")
    print(f"status     {status}")
    print(f"objective  {fmt(objective)}")
    print(f"bound      {fmt(bound)}")
    print(f"gap        {fmt(gap, 3)}")
    for name, used in usage.items():
        print(f"budget     {name}: {used:.10g} of {limits[name]:.10g}")
    for name, lam in multipliers.items():
        print(f"lambda     {name}: {lam:.10g}")
