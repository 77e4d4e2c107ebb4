"""Evaluate an assignment (one option index per unit, -1 = none) against an instance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formulations.errors import UsageError
from formulations.instance import Instance

#: relative tolerance of "feasible" (ARCHITECTURE.md): usage <= limit + FEAS_TOL * max(1, |limit|)
FEAS_TOL = 1e-9


@dataclass(frozen=True)
class Evaluation:
    """Objective, budget usage and capacity usage of an assignment, and whether it is feasible."""

    objective: float
    usage: np.ndarray
    capacity_usage: np.ndarray
    feasible: bool
    violations: tuple[str, ...]


def slack_tolerance(limits: np.ndarray) -> np.ndarray:
    return FEAS_TOL * np.maximum(1.0, np.abs(limits))


def check_assignment(instance: Instance, assignment: np.ndarray) -> np.ndarray:
    """Validate shape and range; return the assignment as int64. Raises UsageError on misuse."""
    a = np.asarray(assignment)
    if a.shape != (instance.n_units,):
        raise UsageError(
            f"assignment: expected {instance.n_units} entries (one per unit), got shape {a.shape}"
        )
    if not np.issubdtype(a.dtype, np.integer):
        if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
            raise UsageError("assignment: expected integer option indices")
        a = a.astype(np.int64)
    a = a.astype(np.int64, copy=False)
    low = -1 if instance.choose == "at-most-one" else 0
    bad = np.flatnonzero((a < low) | (a >= instance.counts))
    if bad.size:
        i = int(bad[0])
        raise UsageError(
            f"assignment: unit {instance.unit_ids[i]!r} (position {i}) has option index {a[i]}, "
            f"expected {low}..{int(instance.counts[i]) - 1}"
        )
    return a


def chosen_rows(instance: Instance, assignment: np.ndarray) -> np.ndarray:
    """Row indices of the chosen options (units with -1 are skipped)."""
    a = np.asarray(assignment, dtype=np.int64)
    picked = a >= 0
    return instance.offsets[:-1][picked] + a[picked]


def evaluate(instance: Instance, assignment: np.ndarray) -> Evaluation:
    """Objective and usage of ``assignment``; ``feasible`` uses the project-wide tolerance."""
    a = check_assignment(instance, assignment)
    rows = chosen_rows(instance, a)
    objective = float(instance.value[rows].sum())
    usage = instance.costs[:, rows].sum(axis=1) if instance.n_budgets else np.zeros(0)
    limits = instance.limits
    violations: list[str] = []
    over = usage > limits + slack_tolerance(limits)
    for k in np.flatnonzero(over):
        violations.append(
            f"budget {instance.budgets[k].name!r}: usage {usage[k]:.10g} > limit {limits[k]:.10g}"
        )
    cap = instance.capacity_codes()
    cap_usage = np.zeros(len(cap))
    if cap:
        chosen_codes = instance.option_codes[rows]
        for i, (code, lim) in enumerate(cap):
            cap_usage[i] = float(np.count_nonzero(chosen_codes == code))
            if cap_usage[i] > lim + FEAS_TOL * max(1.0, abs(lim)):
                violations.append(
                    f"capacity of option {instance.option_labels[code]!r}: "
                    f"{int(cap_usage[i])} units > limit {lim:g}"
                )
    return Evaluation(objective, usage, cap_usage, not violations, tuple(violations))
