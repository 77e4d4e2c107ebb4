"""A JSON-ready summary of an instance (what ``treatalloc info`` prints)."""

from __future__ import annotations

from typing import Any

import numpy as np

from formulations.instance import Instance


def instance_summary(inst: Instance) -> dict[str, Any]:
    dense = inst.dense()
    counts = inst.counts
    budgets = []
    for k, b in enumerate(inst.budgets):
        c = np.where(dense.valid, dense.costs[k], np.nan)
        lo = np.nanmin(c, axis=1)
        if inst.choose == "at-most-one":
            lo = np.minimum(lo, 0.0)
        budgets.append(
            {
                "name": b.name,
                "limit": b.limit,
                "min_use": float(lo.sum()),
                "max_use": float(np.nanmax(c, axis=1).sum()),
            }
        )
    best = np.max(dense.value, axis=1)
    if inst.choose == "at-most-one":
        best = np.maximum(best, 0.0)
    return {
        "name": inst.name,
        "description": inst.description,
        "units": inst.n_units,
        "rows": inst.n_rows,
        "options_min": int(counts.min()),
        "options_max": int(counts.max()),
        "options": list(inst.option_labels),
        "choose": inst.choose,
        "value_upper": float(best.sum()),
        "budgets": budgets,
        "capacities": [{"option": c.option, "limit": c.limit} for c in inst.capacities],
        "scenarios": [
            {"probability": s.probability, "limits": dict(s.limits)} for s in inst.scenarios
        ],
        "reference": None
        if inst.reference is None
        else {
            "objective": inst.reference.objective,
            "proven": inst.reference.proven,
            "source": inst.reference.source,
        },
    }
