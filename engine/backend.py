"""The solver-backend Protocol and what a backend says it supports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from engine.result import SolveResult
from formulations.instance import Instance

#: instances of more rows than this run the MIP backends supervised in a child process when
#: they must be stoppable (engine.isolate); on smaller ones a solver's set-up is short enough
#: that its own limit and an in-process watchdog stop it in time, without the child's 0.5 s
#: start (at 10,000 rows HiGHS' set-up alone took 1.5 s on a loaded machine)
ISOLATE_ROWS = 2_000
#: HiGHS refuses matrix entries from 1e15 (its large_matrix_value); SCIP and the pyomo
#: solvers lose their numerics long before their infinity (1e20)
MIP_MAX_COEFFICIENT = 1e15


@dataclass(frozen=True)
class Capabilities:
    multiple_budgets: bool = True
    capacities: bool = True
    exact: bool = True
    """True when an ``optimal`` status is a proof (a MIP or exact method), False for heuristics."""
    integral_data_only: bool = False
    max_coefficient: float | None = None
    """The largest |value| or |cost| the backend's solver can hold (after the options that
    can never fit are removed: engine.presolve); None: any finite number."""
    isolate_above: int | None = None
    """Run in a supervised child process (engine.isolate) to honour a time limit or an
    interrupt on instances of more rows than this (its native solver cannot be stopped from
    within there); None: never. 0 for pyomo, whose model building alone outlasts short
    limits."""


@runtime_checkable
class Backend(Protocol):
    """A solver for MCKP instances. Construction fails (with an install hint) if it cannot run."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    options_type: ClassVar[type[Any]]
    """The frozen dataclass of the options it reads (engine.options); engine.solve fills it."""

    def solve(
        self, instance: Instance, *, time_limit: float | None, options: Any
    ) -> SolveResult: ...
