"""SolveResult: the one result type every solver returns (ARCHITECTURE.md, "SolveResult")."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from formulations.instance import Instance

Status = Literal["optimal", "feasible", "infeasible", "time_limit", "error"]
STATUSES: tuple[str, ...] = ("optimal", "feasible", "infeasible", "time_limit", "error")

#: "optimal" means a proof with relative gap <= OPT_REL_GAP or absolute gap <= OPT_ABS_GAP.
OPT_REL_GAP = 1e-9
OPT_ABS_GAP = 1e-6


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

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status: expected one of {STATUSES}, got {self.status!r}")

    @property
    def gap(self) -> float | None:
        return relative_gap(self.objective, self.bound)

    @property
    def has_solution(self) -> bool:
        return self.assignment is not None

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
