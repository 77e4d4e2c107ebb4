"""engine.solve: the single entry point, ``solve(problem, solver, *, time_limit, options)``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from engine.registry import get_backend
from engine.result import SolveResult
from formulations.errors import UsageError
from formulations.instance import Instance


def solve(
    problem: Instance,
    solver: str = "highs",
    *,
    time_limit: float | None = None,
    options: Mapping[str, Any] | None = None,
) -> SolveResult:
    """Solve an MCKP instance; nothing is written back into ``problem``.

    ``seconds`` in the result is the wall time including model building.
    """
    if not isinstance(problem, Instance):
        raise UsageError(f"problem: expected a formulations.Instance, got {type(problem).__name__}")
    if time_limit is not None and not time_limit > 0:
        raise UsageError(f"time_limit: expected a positive number of seconds, got {time_limit!r}")
    backend = get_backend(solver)
    caps = backend.capabilities
    if problem.n_budgets > 1 and not caps.multiple_budgets:
        raise UsageError(
            f"solver {solver!r} supports one budget; the instance has {problem.n_budgets}"
        )
    if problem.capacities and not caps.capacities:
        raise UsageError(f"solver {solver!r} does not support per-option capacities")
    start = time.perf_counter()
    result = backend.solve(problem, time_limit=time_limit, options=dict(options or {}))
    return replace(result, seconds=time.perf_counter() - start)
