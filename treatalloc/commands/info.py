"""treatalloc info PATH: a summary of an instance."""

from __future__ import annotations

import argparse
import json

HELP = "summarise an instance: units, options, budgets, capacities, reference"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="instance.toml (or the folder holding it)")
    p.add_argument("--json", action="store_true", help="print a JSON object")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from formulations import load_instance
    from formulations.summary import instance_summary

    inst = load_instance(args.path)
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
