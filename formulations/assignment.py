"""Evaluate an assignment (one option index per unit, -1 = none) against an instance.

This module holds the project's one definition of "within budget" (ARCHITECTURE.md,
"SolveResult"): the budgets as written. An allocation's usage of a budget is its sum, decided
exactly (a float sum where its rounding bound settles the test, else a compensated sum:
formulations.summation), and it fits when ``usage <= limit + FEAS_TOL * max(1, |limit|)``:
FEAS_TOL = 1e-12 is the noise of that sum over decimal data (0.1 + 0.2 is 5.6e-17 above 0.3 in
floats), not a slack a solver may use. Every backend, greedy and repair included, and the
re-check of every result use :func:`slack_tolerance` / :func:`within_limits`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formulations.errors import UsageError
from formulations.instance import Instance
from formulations.summation import compensated_sum

#: relative noise allowed on "within budget": usage <= limit + FEAS_TOL * max(1, |limit|)
FEAS_TOL = 1e-12


@dataclass(frozen=True)
class Evaluation:
    """Objective, budget usage and capacity usage of an assignment, and whether it is feasible."""

    objective: float
    usage: np.ndarray
    capacity_usage: np.ndarray
    feasible: bool
    violations: tuple[str, ...]


def slack_tolerance(limits: np.ndarray) -> np.ndarray:
    """How far above each limit a compensated usage may be and still count as within it."""
    return FEAS_TOL * np.maximum(1.0, np.abs(np.asarray(limits, dtype=np.float64)))


def target_limits(limits: np.ndarray) -> np.ndarray:
    """The threshold of :func:`within_limits`, ``L + slack_tolerance(L)``: every solver aims at
    it (the dual's LP and bound, greedy's fill, the limits handed to a MIP solver), so that one
    set of allocations is feasible for all of them and for the re-check, and each solver's
    bound covers every allocation it can return (engine.result's contract)."""
    lim = np.asarray(limits, dtype=np.float64)
    return np.asarray(lim + slack_tolerance(lim), dtype=np.float64)


def written_limits(targets: np.ndarray) -> np.ndarray:
    """The limits (as written) whose :func:`target_limits` are ``targets``, to float accuracy.

    For sub-instances whose limits are what is left of a target (a core of the dual): a solver
    given these aims at ``targets`` again, not at targets plus a second allowance.
    """
    t = np.asarray(targets, dtype=np.float64)
    return np.asarray(t - slack_tolerance(t), dtype=np.float64)


def within_limits(usage: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """Elementwise: ``usage`` (compensated sums) within ``limits`` as written (the one check)."""
    return np.asarray(np.asarray(usage, dtype=np.float64) <= target_limits(limits))


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
    if instance.choose == "exactly-one":  # every unit has a row: no mask to build
        return instance.offsets[:-1] + a
    picked = a >= 0
    return instance.offsets[:-1][picked] + a[picked]


def usage_within(costs: np.ndarray, target: float) -> tuple[float, bool]:
    """(usage, within ``target``) of the chosen cells' ``costs``: a float sum where its rounding
    bound (pairwise summation: under 64 eps of the absolute sum) decides the test either way,
    else the compensated sum, which then decides it."""
    s = float(costs.sum())
    # nonnegative costs (the common case) are their own absolute values: no |costs| temporary
    absolute = s if costs.size and float(costs.min()) >= 0.0 else float(np.abs(costs).sum())
    err = 64 * np.finfo(np.float64).eps * absolute
    if s + err <= target:
        return s, True
    if s - err > target:
        return s, False
    exact = compensated_sum(costs)
    return exact, bool(exact <= target)


def evaluate(instance: Instance, assignment: np.ndarray) -> Evaluation:
    """Objective and usage of ``assignment``; ``feasible`` is the one check (the budgets as
    written, decided exactly up to the 1e-12 allowance: usage_within)."""
    a = check_assignment(instance, assignment)
    rows = chosen_rows(instance, a)
    objective = float(instance.value[rows].sum())
    limits = instance.limits
    targets = target_limits(limits)
    sums = [usage_within(instance.costs[k, rows], float(targets[k]))
            for k in range(instance.n_budgets)]
    usage = np.array([u for u, _ in sums], dtype=np.float64)
    violations: list[str] = []
    over = np.array([not ok for _, ok in sums], dtype=bool)
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
            if cap_usage[i] > lim:  # a count: exact
                violations.append(
                    f"capacity of option {instance.option_labels[code]!r}: "
                    f"{int(cap_usage[i])} units > limit {lim:g}"
                )
    return Evaluation(objective, usage, cap_usage, not violations, tuple(violations))
