"""Seeded MMKP-style instances: n classes x l items x m tight resources, and their file.

The multi-dimensional multiple-choice knapsack of OR-Library's MMKP set (Khan et al. 2002):
choose exactly one item per class under m resources. Resource weights are integers in
[0, 10]; in the *correlated* kind an item's value is its total weight times U(0.5, 1.5) plus an
integer in [0, 10] (heavier items are worth more: the hard kind), in the *uncorrelated* kind an
integer in [0, 30]. Each resource's capacity is half of what taking every class's heaviest
item in it would use (tight). :func:`write_mmkp` writes the OR-Library text format, which
formulations.orlib.read_mmkp (``treatalloc convert``) reads back.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from formulations.atomic_write import atomic_write_text
from formulations.instance import Instance, from_dense


def mmkp_instance(
    classes: int, items: int = 10, resources: int = 10, *, seed: int = 0,
    correlated: bool = True,
) -> Instance:
    """An MMKP-style instance (see the module docstring); units are the classes 1..n."""
    rng = np.random.default_rng(seed)
    w = rng.integers(0, 11, size=(resources, classes, items)).astype(np.float64)
    if correlated:
        value = w.sum(axis=0) * rng.uniform(0.5, 1.5, size=(classes, items))
        value = np.round(value + rng.integers(0, 11, size=(classes, items)), 2)
    else:
        value = rng.integers(0, 31, size=(classes, items)).astype(np.float64)
    capacity = 0.5 * w.max(axis=2).sum(axis=1)
    kind = "correlated" if correlated else "uncorrelated"
    return from_dense(
        value, w, capacity.tolist(), budget_names=[f"r{k + 1}" for k in range(resources)],
        option_labels=[str(j) for j in range(items)],
        unit_ids=np.arange(1, classes + 1, dtype=np.int64),
        name=f"mmkp_{kind}_{classes}x{items}x{resources}_s{seed}",
    )


def write_mmkp(instance: Instance, path: str | os.PathLike[str]) -> Path:
    """The instance in OR-Library's MMKP text format (rectangular instances only)."""
    n, m, k = instance.n_units, instance.max_options, instance.n_budgets
    value = instance.value.reshape(n, m)
    costs = instance.costs.reshape(k, n, m)
    lines = [f"{n} {m} {k}", " ".join(f"{b.limit:.12g}" for b in instance.budgets)]
    for i in range(n):
        lines.append(str(i + 1))
        lines.extend(" ".join([f"{value[i, j]:.12g}", *(f"{costs[r, i, j]:.12g}"
                                                          for r in range(k))])
                     for j in range(m))
    target = Path(path)
    atomic_write_text(target, "\n".join(lines) + "\n")
    return target
