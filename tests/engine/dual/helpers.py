"""Small random instances for the dual engine's tests (seeded; mixed shapes)."""

from __future__ import annotations

import itertools

import numpy as np

from formulations.assignment import evaluate
from formulations.instance import Budget, Capacity, Instance, from_dense


def random_instance(
    seed: int, n: int = 8, m: int = 3, k: int = 1, *, ragged: bool = False,
    choose: str = "exactly-one", capacity: bool = False, tight: float = 0.4,
) -> Instance:
    rng = np.random.default_rng(seed)
    value = np.round(rng.uniform(0, 10, size=(n, m)), 2)
    costs = np.round(rng.uniform(0, 5, size=(k, n, m)), 2)
    costs[:, :, 0] = 0.0 if choose == "exactly-one" else costs[:, :, 0]
    limits = (tight * costs.max(axis=2).sum(axis=1)).tolist()
    caps = (Capacity("1", max(1, n // 4)),) if capacity else ()
    inst = from_dense(value, costs, limits, choose=choose, capacities=caps)  # type: ignore[arg-type]
    if not ragged:
        return inst
    counts = rng.integers(1, m + 1, size=n)
    counts[0] = m
    rows = np.concatenate([np.arange(i * m, i * m + c) for i, c in enumerate(counts)])
    return Instance(
        name="ragged", unit_ids=inst.unit_ids,
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        option_codes=inst.option_codes[rows], option_labels=inst.option_labels,
        value=inst.value[rows], costs=inst.costs[:, rows],
        budgets=tuple(Budget(b.name, b.limit, b.column) for b in inst.budgets),
        capacities=caps, choose=choose,  # type: ignore[arg-type]
    )


def brute_force(inst: Instance) -> float | None:
    """Best objective by enumeration (None when nothing is feasible)."""
    low = -1 if inst.choose == "at-most-one" else 0
    ranges = [range(low, int(c)) for c in inst.counts]
    best = None
    for a in itertools.product(*ranges):
        ev = evaluate(inst, np.array(a))
        if ev.feasible and (best is None or ev.objective > best):
            best = ev.objective
    return best
