"""treatalloc plan PATH --program per-scenario|chance|two-stage [options] [--csv FILE] [--json]."""

from __future__ import annotations

import argparse
import json
from typing import Any

HELP = ("plan under budget scenarios: per-scenario plans, a chance-constrained plan or a "
        "two-stage plan with cut-backs, with VSS and EVPI")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="instance.toml with [[scenarios]] or a budget distribution, or a "
                                 "cluster program (or the folder holding either)")
    p.add_argument("--program", required=True,
                   choices=("per-scenario", "chance", "two-stage"))
    p.add_argument("--alpha", type=float, default=None,
                   help="chance: the probability the budget may be broken (required there)")
    p.add_argument("--method", default="auto", choices=("auto", "quantile", "indicators"),
                   help="chance: the budget-quantile reduction where exact, or the indicator "
                        "integer program (default: auto)")
    p.add_argument("--recourse", default="shares", choices=("shares", "counts"),
                   help="two-stage: cut back a share of a cell or whole units (default: shares)")
    p.add_argument("--cutback", default="fallback", choices=("fallback", "cheaper"),
                   help="two-stage: units go back to the cheapest option, or down to any "
                        "cheaper option (default: fallback)")
    p.add_argument("--penalty", type=float, default=0.0,
                   help="two-stage: value lost per unit cut back (default 0)")
    p.add_argument("--solver", default="highs", choices=("highs", "ortools"))
    p.add_argument("--time-limit", type=float, default=None, metavar="S",
                   help="seconds per program solve")
    p.add_argument("--no-report", action="store_true",
                   help="skip VSS and EVPI (they need two extra solves per scenario)")
    p.add_argument("--csv", "--out", dest="out", default=None, metavar="FILE",
                   help="write the allocation table (.csv or .parquet): stage, scenario, "
                        "probability, limits, group, option, units, share")
    p.add_argument("--json", action="store_true", help="print only one JSON object on stdout")


def _check(args: argparse.Namespace) -> None:
    from formulations.atomic_write import TABLE_SUFFIXES
    from formulations.errors import UsageError

    if args.program == "chance":
        if args.alpha is None:
            raise UsageError("--alpha: required with --program chance (e.g. --alpha 0.1)")
        if not 0.0 <= args.alpha < 1.0:
            raise UsageError(f"--alpha: expected 0 <= alpha < 1, got {args.alpha}")
    elif args.alpha is not None:
        raise UsageError(f"--alpha: only for --program chance, not {args.program}")
    if not args.penalty >= 0:
        raise UsageError(f"--penalty: expected >= 0, got {args.penalty}")
    if args.time_limit is not None and not args.time_limit > 0:
        raise UsageError(f"--time-limit: expected a positive number of seconds, got "
                         f"{args.time_limit}")
    if args.out:
        from treatalloc.outputs import check_file

        check_file(args.out, "--csv", TABLE_SUFFIXES)


def load(path: str) -> tuple[Any, Any]:
    """(grouped problem, scenario set) of an instance with scenarios or a cluster program."""
    from formulations.cluster_program import ClusterProgram
    from formulations.problem_file import load_problem
    from formulations.stochastic_problem import from_instance, instance_scenarios

    loaded = load_problem(path)
    if isinstance(loaded, ClusterProgram):
        return loaded.problem(), loaded.scenario_set()
    return from_instance(loaded), instance_scenarios(loaded)


def run(args: argparse.Namespace) -> int:
    from engine.stochastic import chance_constrained, per_scenario, two_stage
    from engine.stochastic.tables import allocation_table, plan_summary
    from treatalloc.cli import EXIT_INFEASIBLE, EXIT_INTERNAL, EXIT_LIMIT, EXIT_OK
    from treatalloc.console import stdout_to_stderr, write_table

    _check(args)
    problem, scenarios = load(args.path)
    report = not args.no_report
    with stdout_to_stderr():
        if args.program == "per-scenario":
            plan: Any = per_scenario(problem, scenarios, solver=args.solver,
                                     time_limit=args.time_limit, penalty=args.penalty)
        elif args.program == "chance":
            plan = chance_constrained(problem, scenarios, args.alpha, method=args.method,
                                      solver=args.solver, time_limit=args.time_limit,
                                      report=report)
        else:
            plan = two_stage(problem, scenarios, penalty=args.penalty, recourse=args.recourse,
                             cutback=args.cutback, solver=args.solver,
                             time_limit=args.time_limit, report=report)
    summary = plan_summary(plan)
    table = allocation_table(plan, problem, scenarios)
    from treatalloc.interrupts import EXIT_INTERRUPTED, acknowledge

    if acknowledge():
        # Ctrl-C / SIGTERM: what was solved, and nothing written
        summary["message"] = "interrupted"
        if args.json:
            print(json.dumps({**summary, "scenarios": scenarios.n_scenarios,
                              "groups": problem.n_groups}))
        else:
            _print(summary, problem, scenarios, table, None)
            print("message    interrupted: nothing written")
        return EXIT_INTERRUPTED
    if args.out and not table.empty:
        write_table(table, args.out)
    if args.json:
        print(json.dumps({**summary, "scenarios": scenarios.n_scenarios,
                          "groups": problem.n_groups}))
    else:
        _print(summary, problem, scenarios, table, args.out)
    status = summary["status"]
    if status in ("optimal", "feasible"):
        return EXIT_OK
    if status == "infeasible":
        return EXIT_INFEASIBLE
    if status == "time_limit":
        return EXIT_OK if not table.empty else EXIT_LIMIT
    return EXIT_INTERNAL


def _print(summary: dict[str, Any], problem: Any, scenarios: Any, table: Any,
           out: str | None) -> None:
    from treatalloc.console import fmt

    print(f"problem    {problem.name}  ({problem.n_groups} groups, {int(problem.sizes.sum())} "
          f"units, {problem.n_options} options, {scenarios.n_scenarios} budget scenarios)")
    labels = {"program": "program", "status": "status", "method": "method", "alpha": "alpha",
              "probability_met": "P(met)", "recourse": "recourse", "cutback": "cutback"}
    for key, label in labels.items():
        v = summary.get(key)
        if v is not None:
            print(f"{label:<10s} {fmt(v, 6) if isinstance(v, float) else v}")
    for key in ("value", "bound", "gap", "ws", "eev", "vss", "evpi"):
        v = summary.get(key)
        print(f"{key:<10s} {v if isinstance(v, str) else fmt(v, 3 if key == 'gap' else 10)}")
    print(f"seconds    {summary['seconds']:.3f}")
    if not table.empty:
        mix = (table.groupby(["stage", "scenario", "option"], dropna=False, sort=False)["units"]
               .sum().unstack("option").fillna(0.0))
        mix = mix.div(mix.sum(axis=1), axis=0).round(3)
        print("treatment mix (share of all units):")
        print(mix.to_string())
    if out:
        print(f"allocation {'written to ' + out if not table.empty else 'none: nothing written'}")
