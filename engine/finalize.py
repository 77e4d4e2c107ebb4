"""Turn a backend's raw answer into a SolveResult, re-checked with the project's own arithmetic.

Whatever a solver's internal tolerances, the objective and usage reported are recomputed from the
assignment (compensated sums), and an allocation that breaks a budget as written (beyond the
1e-12 noise of formulations.assignment.FEAS_TOL) is repaired, never returned as is. The bound is
passed on as the solver gave it: SolveResult's contract turns a bound below the objective into
status ``error`` (engine.result.contract).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np

from engine.repair import repair
from engine.result import SolveResult, Status, is_proven_optimal
from formulations.assignment import evaluate
from formulations.instance import Instance
from formulations.summation import compensated_sum

#: trivial bounds already computed, by the identity of the value and offsets arrays (an
#: instance with other limits shares them: a sweep asks once), dropped with the arrays
_trivial: dict[tuple[int, int, str], tuple[weakref.ref[np.ndarray], float]] = {}


def trivial_bound(instance: Instance) -> float:
    """The sum of every unit's best value (0 at least for at-most-one): a bound on any
    allocation, whatever the budgets; every reported bound is capped by it."""
    key = (id(instance.value), id(instance.offsets), instance.choose)
    known = _trivial.get(key)
    if known is not None and known[0]() is instance.value:
        return known[1]
    if instance.n_units == 0:
        return 0.0
    best = instance.per_unit(instance.value, "max")
    if instance.choose == "at-most-one":
        best = np.maximum(best, 0.0)
    total = compensated_sum(best)

    def forget(_ref: weakref.ref[np.ndarray]) -> None:
        _trivial.pop(key, None)

    _trivial[key] = (weakref.ref(instance.value, forget), total)
    return total


def capped(instance: Instance, bound: float, objective: float | None) -> float:
    """``bound`` capped by the trivial bound (no allocation is worth more than every unit at
    its best option). A bound within the proof tolerance of the allocation's own value needs
    no cap (it cannot exceed the trivial bound, which is at least that value, by more than the
    tolerance), which spares the pass over every row on the dual's near-optimal answers."""
    if objective is not None and is_proven_optimal(objective, bound):
        return bound
    return min(bound, trivial_bound(instance))


def limits_map(instance: Instance) -> dict[str, float]:
    return {b.name: float(b.limit) for b in instance.budgets}


def build_result(
    instance: Instance,
    *,
    solver: str,
    assignment: np.ndarray | None,
    bound: float | None,
    status: Status | None = None,
    multipliers: Mapping[str, float] | None = None,
    message: str = "",
    detail: Mapping[str, Any] | None = None,
) -> SolveResult:
    """Evaluate ``assignment``; the status is ``optimal`` only where ``bound`` proves it.

    ``status`` may force ``infeasible``, ``time_limit`` or ``error``; otherwise it is derived.
    """
    info = dict(detail or {})
    if assignment is None:
        if bound is not None:
            bound = capped(instance, float(bound), None)
        return SolveResult(
            status=status or "error",
            solver=solver,
            bound=bound,
            limits=limits_map(instance),
            multipliers=dict(multipliers or {}),
            message=message,
            detail=info,
        )
    ev = evaluate(instance, assignment)
    if not ev.feasible:
        info["repaired"] = "; ".join(ev.violations)
        assignment = repair(instance, assignment)
        ev = evaluate(instance, assignment)
        if not ev.feasible:
            return SolveResult(
                status="error",
                solver=solver,
                bound=bound,
                limits=limits_map(instance),
                message="solver returned an allocation that breaks a budget and repair failed: "
                + "; ".join(ev.violations),
                detail=info,
            )
    objective = ev.objective
    if bound is not None:
        bound = capped(instance, float(bound), objective)
    if status in ("time_limit", "error"):
        final: Status = status
        if status == "time_limit" and is_proven_optimal(objective, bound):
            final = "optimal"
    else:
        final = "optimal" if is_proven_optimal(objective, bound) else "feasible"
    return SolveResult(
        status=final,
        solver=solver,
        objective=objective,
        bound=bound,
        assignment=np.asarray(assignment, dtype=np.int64),
        usage={b.name: float(u) for b, u in zip(instance.budgets, ev.usage, strict=True)},
        limits=limits_map(instance),
        multipliers=dict(multipliers or {}),
        message=message,
        detail=info,
    )
