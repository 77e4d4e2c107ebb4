"""treatalloc info PATH: a summary of an instance."""

from __future__ import annotations

import argparse
import json
from typing import Any

HELP = ("summarise an instance (units, options, budgets, capacities, reference) or a cluster "
        "program")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="instance.toml or clusters.toml (or the folder holding it)")
    p.add_argument("--json", action="store_true", help="print a JSON object")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from formulations.cluster_program import ClusterProgram
    from formulations.problem_file import load_problem
    from formulations.summary import instance_summary

    loaded = load_problem(args.path)
    if isinstance(loaded, ClusterProgram):
        return _clusters(loaded, args.json)
    inst = loaded
    s = instance_summary(inst)
    if args.json:
        print(json.dumps(s))
        return 0
    print(f"name        {s['name']}")
    if s["description"]:
        print(f"description {s['description']}")
    print(f"units       {s['units']}")
    print(f"rows        {s['rows']} (options per unit: {s['options_min']}..{s['options_max']})")
    print(f"options     {', '.join(s['options'][:12])}{' ...' if len(s['options']) > 12 else ''}")
    print(f"choose      {s['choose']}")
    print(f"value       total of per-unit maxima {s['value_upper']:.10g}")
    for b in s["budgets"]:
        print(
            f"budget      {b['name']}: limit {b['limit']:.10g}; cheapest choice uses "
            f"{b['min_use']:.10g}, most expensive {b['max_use']:.10g}"
        )
    for c in s["capacities"]:
        print(f"capacity    {c['option']}: at most {c['limit']:g} units")
    if s["scenarios"]:
        lim = np.array([list(x["limits"].values()) for x in s["scenarios"]], dtype=float)
        print(f"scenarios   {len(s['scenarios'])} (limits {lim.min():.6g}..{lim.max():.6g})")
    if s["reference"]:
        r = s["reference"]
        proven = "proven" if r["proven"] else "not proven"
        print(f"reference   {r['objective']:.10g} ({proven}; {r['source']})")
    return 0


def _clusters(program: object, as_json: bool) -> int:
    from formulations.cluster_program import ClusterProgram

    assert isinstance(program, ClusterProgram)
    problem = program.problem()
    s: dict[str, Any] = {"name": program.name, "kind": "clusters", "clusters": program.n_clusters,
         "options": list(program.options), "units": int(problem.sizes.sum()),
         "replicates": program.n_replicates,
         "budgets": [{"name": b.name, "limit": b.limit} for b in program.budgets],
         "scenarios": len(program.scenarios)}
    if as_json:
        print(json.dumps(s))
        return 0
    print(f"name        {s['name']}  (cluster program)")
    print(f"clusters    {s['clusters']} ({s['units']} units)")
    print(f"options     {', '.join(s['options'])}")
    print(f"replicates  {s['replicates']}")
    for b in program.budgets:
        print(f"budget      {b.name}: limit {b.limit:.10g}")
    if program.scenarios:
        print(f"scenarios   {len(program.scenarios)}")
    return 0
