"""treatalloc whatif PATH (--budgets START:STOP:COUNT | --budget NAME=V1,...) [scales] [outputs]."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

HELP = "what-if planning: value, marginal value (lambda), spend and treatment mix over budgets"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from engine.registry import BACKENDS

    p.add_argument("path", help="instance.toml or a cluster program (.toml, or the folder "
                                 "holding instance.toml / clusters.toml)")
    points = p.add_mutually_exclusive_group(required=True)
    points.add_argument("--budgets", metavar="START:STOP:COUNT",
                        help="COUNT points from START to STOP, fractions that scale every budget "
                             "of the instance together (e.g. 0.5:1.5:11)")
    points.add_argument("--budget", metavar="NAME=V1,V2,...",
                        help="absolute limits for one budget (the others keep their limits)")
    points.add_argument("--scenarios", action="store_true",
                        help="one point per budget scenario of the instance, with its "
                             "probability, and the expected value of the per-scenario plans")
    p.add_argument("--cost-scale", action="append", metavar="OPTION=FACTOR",
                   help="multiply OPTION's cost in every budget by FACTOR (repeatable)")
    p.add_argument("--value-scale", action="append", metavar="OPTION=FACTOR",
                   help="multiply OPTION's value by FACTOR (repeatable)")
    p.add_argument("--solver", default="dual", choices=sorted(BACKENDS),
                   help="default: dual (the hull is built once for the whole sweep)")
    p.add_argument("--time-limit", type=float, default=None, metavar="S",
                   help="seconds per point (exact solvers)")
    p.add_argument("--option", "-O", action="append", metavar="KEY=VALUE",
                   help="solver option, repeatable")
    p.add_argument("--out-dir", default=None, metavar="DIR",
                   help="write whatif.csv, whatif.png and whatif.html into DIR")
    p.add_argument("--csv", default=None, metavar="FILE", help="write the table as CSV")
    p.add_argument("--png", default=None, metavar="FILE", help="write the plot as PNG")
    p.add_argument("--html", default=None, metavar="FILE",
                   help="write a self-contained HTML report (plot embedded, no network)")
    p.add_argument("--quiet", "-q", action="store_true", help="do not print the table")


def _targets(args: argparse.Namespace) -> dict[str, Path]:
    """The files to write, each checked writable before anything is solved."""
    from treatalloc.outputs import check_file, check_folder

    out: dict[str, Path] = {}
    if args.out_dir:
        d = check_folder(args.out_dir, "--out-dir")
        out = {"csv": d / "whatif.csv", "png": d / "whatif.png", "html": d / "whatif.html"}
    for kind in ("csv", "png", "html"):
        given = getattr(args, kind)
        if given:
            out[kind] = check_file(given, f"--{kind}", (f".{kind}",))
    return out


#: ``--solver`` names accepted for a cluster program -> the exact solver that runs
CLUSTER_SOLVERS: dict[str, str] = {"highs": "highs", "dual": "highs", "ortools": "ortools"}


def cluster_solver(solver: str) -> str:
    from formulations.errors import UsageError

    if solver not in CLUSTER_SOLVERS:
        raise UsageError(
            f"--solver {solver!r}: a cluster program is solved exactly with one of "
            f"{sorted(CLUSTER_SOLVERS)} ('dual' means highs here)"
        )
    return CLUSTER_SOLVERS[solver]


def make_sweep(problem: Any, scenarios: Any, fractions: Any, budget: Any) -> Any:
    from engine.whatif import scale_sweep, scenario_sweep, value_sweep

    if fractions is not None:
        return scale_sweep(problem, fractions, what="--budgets")
    if budget is not None:
        return value_sweep(problem, *budget, what="--budget")
    return scenario_sweep(problem, scenarios, what="--scenarios")


def run(args: argparse.Namespace) -> int:
    from engine.whatif import option_factors, whatif
    from formulations.atomic_write import atomic_write_text, atomic_write_with
    from formulations.cluster_program import ClusterProgram
    from formulations.problem_file import load_problem
    from treatalloc.console import parse_key_values, stdout_to_stderr
    from treatalloc.sweep_args import parse_budget_values, parse_factors, parse_scale_range

    # every input is checked before anything is solved or written
    targets = _targets(args)
    options = parse_key_values(args.option, "--option")
    options.setdefault("progress", False)
    cost_scale = parse_factors(args.cost_scale, "--cost-scale")
    value_scale = parse_factors(args.value_scale, "--value-scale")
    fractions = parse_scale_range(args.budgets) if args.budgets is not None else None
    budget = parse_budget_values(args.budget) if args.budget is not None else None
    if args.time_limit is not None and not args.time_limit > 0:
        from formulations.errors import UsageError

        raise UsageError(
            f"--time-limit: expected a positive number of seconds, got {args.time_limit}"
        )
    loaded = load_problem(args.path)
    if isinstance(loaded, ClusterProgram):
        from engine.whatif_clusters import whatif_clusters

        exact = cluster_solver(args.solver)
        problem, scenarios = loaded.problem(), tuple(loaded.scenarios)
        # the option names, checked early and named by their flags
        option_factors(problem.option_labels, cost_scale, "--cost-scale")
        option_factors(problem.option_labels, value_scale, "--value-scale")
        sweep = make_sweep(problem, scenarios, fractions, budget)
        with stdout_to_stderr():
            w = whatif_clusters(problem, sweep, solver=exact, time_limit=args.time_limit,
                                cost_scale=cost_scale, value_scale=value_scale,
                                scenarios=scenarios)
    else:
        instance = loaded
        option_factors(instance.option_labels, cost_scale, "--cost-scale")
        option_factors(instance.option_labels, value_scale, "--value-scale")
        sweep = make_sweep(instance, instance.scenarios, fractions, budget)
        with stdout_to_stderr():
            w = whatif(instance, sweep, solver=args.solver, time_limit=args.time_limit,
                       options=options, cost_scale=cost_scale, value_scale=value_scale,
                       curve="png" in targets or "html" in targets)

    from treatalloc.interrupts import EXIT_INTERRUPTED, acknowledge
    from treatalloc.report.whatif_report import csv_text, format_table, render_html, render_png

    if acknowledge():
        # Ctrl-C / SIGTERM: the points solved so far, and nothing written
        if not args.quiet and w.sweep.n_points:
            print(format_table(w))
        print(f"treatalloc whatif: interrupted after {w.sweep.n_points} point(s); nothing "
              "written", file=sys.stderr)
        return EXIT_INTERRUPTED
    # build everything in memory first, so a failure leaves no partial set of files
    png = render_png(w) if ("png" in targets or "html" in targets) else b""
    texts = {"csv": csv_text(w) if "csv" in targets else ""}
    if "html" in targets:
        texts["html"] = render_html(w, png)
    for kind, path in targets.items():
        if kind == "png":
            atomic_write_with(path, lambda t: t.write_bytes(png))
        else:
            atomic_write_text(path, texts[kind])
    if not args.quiet:
        print(format_table(w))
        print(f"{w.sweep.n_points} points, solver {w.solver}, {w.seconds:.2f} s")
        if w.expected_value is not None:
            print(f"expected value over the budget scenarios (a plan per scenario): "
                  f"{w.expected_value:.6g}")
        for note in w.notes:
            print(f"note: {note}")
        for kind, path in targets.items():
            print(f"wrote {kind.upper():4s} {path}")
    bad = [r.status for r in w.results if r.status in ("error",)]
    if bad:
        print(f"treatalloc whatif: {len(bad)} point(s) ended with status 'error'", file=sys.stderr)
        return 1
    return 0
