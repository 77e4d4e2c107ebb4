"""The solver-backend Protocol and what a backend says it supports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from engine.result import SolveResult
from formulations.instance import Instance


@dataclass(frozen=True)
class Capabilities:
    multiple_budgets: bool = True
    capacities: bool = True
    exact: bool = True
    """True when an ``optimal`` status is a proof (a MIP or exact method), False for heuristics."""
    integral_data_only: bool = False


@runtime_checkable
class Backend(Protocol):
    """A solver for MCKP instances. Construction fails (with an install hint) if it cannot run."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def solve(
        self, instance: Instance, *, time_limit: float | None, options: Mapping[str, Any]
    ) -> SolveResult: ...
