"""Exhaustive enumeration of every allocation of a tiny MCKP: the conformance suite's oracle.

Independent of the solvers' code paths on purpose: it uses neither the standard form nor the
dense view, only the instance's flat arrays, and applies the project's one feasibility check
(the budgets as written, up to 1e-12 relative noise: formulations.assignment.within_limits)
to every combination at once with numpy.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from formulations.assignment import within_limits
from formulations.instance import Instance

#: refuse instances with more combinations than this (the suite's are at most 5^6 = 15,625)
MAX_COMBINATIONS = 200_000


@dataclass(frozen=True)
class BruteForce:
    """The optimum over all allocations, or ``objective`` None when none is feasible."""

    objective: float | None
    assignment: np.ndarray | None
    n_feasible: int


def brute_force(instance: Instance) -> BruteForce:
    """Every allocation enumerated; the best one within every budget and capacity."""
    n = instance.n_units
    counts = instance.counts.tolist()
    low = -1 if instance.choose == "at-most-one" else 0
    choices = [range(low, c) for c in counts]
    total = int(np.prod([len(c) for c in choices])) if n else 1
    if total > MAX_COMBINATIONS:
        raise ValueError(f"brute force: {total} combinations is too many")
    combos = np.array(list(itertools.product(*choices)), dtype=np.int64).reshape(total, n)

    starts = instance.offsets[:-1]
    picked = combos >= 0
    rows = np.where(picked, starts[None, :] + np.maximum(combos, 0), 0)
    value = np.where(picked, instance.value[rows], 0.0).sum(axis=1)
    feasible = np.ones(total, dtype=bool)
    for k, budget in enumerate(instance.budgets):
        use = np.where(picked, instance.costs[k][rows], 0.0).sum(axis=1)
        feasible &= within_limits(use, np.full(total, budget.limit))
    for code, lim in instance.capacity_codes():
        count = (picked & (instance.option_codes[rows] == code)).sum(axis=1)
        feasible &= count <= lim
    if not feasible.any():
        return BruteForce(None, None, 0)
    best = int(np.argmax(np.where(feasible, value, -np.inf)))
    return BruteForce(float(value[best]), combos[best].copy(), int(feasible.sum()))
