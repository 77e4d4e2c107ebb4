"""SolveResult: the one result type every solver returns (ARCHITECTURE.md, "SolveResult").

The contract is enforced here, where results are made (:func:`contract`, called by
``SolveResult.__post_init__`` and by the stochastic programs' ``ProgramSolution``):

* ``optimal`` needs an allocation, a bound and the project's proof (relative gap <= 1e-9 or
  absolute <= 1e-6); an allocation without the proof is ``feasible``, no allocation ``error``;
* a bound below the objective by more than ``BOUND_TOL * max(1, |objective|)`` is status
  ``error`` with a message naming the solver: a solver bug or a wrong answer, never a proof;
* an allocation (with any status) reports its usage of every budget, within the budgets as
  written (formulations.assignment.within_limits, the one feasibility check); ``feasible`` needs
  an allocation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from formulations.assignment import within_limits
from formulations.instance import Instance

Status = Literal["optimal", "feasible", "infeasible", "time_limit", "error"]
STATUSES: tuple[str, ...] = ("optimal", "feasible", "infeasible", "time_limit", "error")

#: "optimal" means a proof with relative gap <= OPT_REL_GAP or absolute gap <= OPT_ABS_GAP.
OPT_REL_GAP = 1e-9
OPT_ABS_GAP = 1e-6
#: a bound may sit below its objective by float noise only: BOUND_TOL * max(1, |objective|)
BOUND_TOL = 1e-9


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """(bound - objective) / max(1, |bound|); None where either side is missing."""
    if objective is None or bound is None:
        return None
    return (bound - objective) / max(1.0, abs(bound))


def is_proven_optimal(objective: float | None, bound: float | None) -> bool:
    if objective is None or bound is None:
        return False
    gap = relative_gap(objective, bound)
    return gap is not None and (gap <= OPT_REL_GAP or bound - objective <= OPT_ABS_GAP)


def contract(
    status: str, solver: str, *, objective: float | None, bound: float | None,
    has_solution: bool, infeasibility: str | None,
) -> tuple[str, str | None]:
    """(the status the result may carry, a message where it differs from ``status``).

    ``infeasibility`` describes how the solution breaks the feasibility check (None: it passes
    or there is none). Shared by every result type, so the rules live in one place.
    """
    if status not in STATUSES:
        raise ValueError(f"status: expected one of {STATUSES}, got {status!r}")
    if (bound is not None and objective is not None and math.isfinite(bound)
            and bound < objective - BOUND_TOL * max(1.0, abs(objective))):
        return "error", (f"solver {solver!r} reported the bound {bound!r} below the value "
                         f"{objective!r} of its own solution: a solver bug or a wrong answer, "
                         "not a proof")
    if has_solution and infeasibility is not None:
        return "error", f"solver {solver!r} returned a solution that {infeasibility}"
    if status == "optimal":
        if not has_solution or objective is None:
            return "error", f"solver {solver!r} said optimal with no allocation"
        if not is_proven_optimal(objective, bound):
            return "feasible", None
    if status == "feasible" and (not has_solution or objective is None):
        return "error", f"solver {solver!r} said feasible with no allocation"
    return status, None


@dataclass(frozen=True, eq=False)
class SolveResult:
    """The outcome of one solve. Never defaults to success: ``status`` must be given."""

    status: Status
    solver: str
    objective: float | None = None
    bound: float | None = None
    assignment: np.ndarray | None = None
    usage: Mapping[str, float] = field(default_factory=dict)
    limits: Mapping[str, float] = field(default_factory=dict)
    multipliers: Mapping[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    message: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    allocation_path: str | None = None
    """Where the allocation was written when it is never held in memory (the Dask backend on a
    folder of Parquet parts writes it there from the workers); ``usage`` is then its usage."""

    def __post_init__(self) -> None:
        has = self.assignment is not None or self.allocation_path is not None
        status, why = contract(self.status, self.solver, objective=self.objective,
                               bound=self.bound, has_solution=has,
                               infeasibility=self._budget_breach() if has else None)
        if status != self.status or why:
            # frozen: the contract may only make a result say less than its maker claimed
            object.__setattr__(self, "status", status)
            if why:
                object.__setattr__(self, "message",
                                   why if not self.message else f"{why}; {self.message}")

    def _budget_breach(self) -> str | None:
        """How the reported usage breaks the budgets as written (None: it does not)."""
        missing = sorted(set(self.limits) - set(self.usage))
        if missing:
            return f"reports no usage of budget(s) {missing}"
        names = list(self.limits)
        usage = np.array([float(self.usage[n]) for n in names])
        limits = np.array([float(self.limits[n]) for n in names])
        over = np.flatnonzero(~within_limits(usage, limits))
        if over.size:
            k = int(over[0])
            return (f"breaks budget {names[k]!r}: usage {usage[k]!r} > limit {limits[k]!r}")
        return None

    @property
    def gap(self) -> float | None:
        return relative_gap(self.objective, self.bound)

    @property
    def has_solution(self) -> bool:
        return self.assignment is not None or self.allocation_path is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-unit data)."""

        def num(x: float | None) -> float | None:
            if x is None or not math.isfinite(x):
                return None
            return float(x)

        return {
            "status": self.status,
            "objective": num(self.objective),
            "bound": num(self.bound),
            "gap": num(self.gap),
            "seconds": round(self.seconds, 6),
            "solver": self.solver,
            "usage": {k: float(v) for k, v in self.usage.items()},
            "limits": {k: float(v) for k, v in self.limits.items()},
            "multipliers": {k: float(v) for k, v in self.multipliers.items()},
            "message": self.message,
            "allocation_path": self.allocation_path,
            "detail": {k: _jsonable(v) for k, v in self.detail.items()},
        }

    def assignment_frame(self, instance: Instance) -> pd.DataFrame:
        """One row per unit: unit id, option id (None for the null option), value, budget use."""
        if self.assignment is None:
            raise ValueError(f"this result holds no allocation (status {self.status!r})")
        a = self.assignment
        picked = a >= 0
        rows = instance.offsets[:-1] + np.where(picked, a, 0)
        labels = np.asarray(instance.option_labels, dtype=object)
        data: dict[str, Any] = {
            instance.columns.unit: instance.unit_ids,
            instance.columns.option: np.where(picked, labels[instance.option_codes[rows]], None),
            instance.columns.value: np.where(picked, instance.value[rows], 0.0),
        }
        for k, b in enumerate(instance.budgets):
            data[b.column or b.name] = np.where(picked, instance.costs[k, rows], 0.0)
        return pd.DataFrame(data)


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
