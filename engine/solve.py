"""engine.solve: the single entry point, ``solve(problem, solver, *, time_limit, options)``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from engine.registry import get_backend
from engine.result import SolveResult
from engine.stopping import INTERRUPTED, Deadline, interrupted, supervised
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

    ``seconds`` in the result is the wall time including model building. With ``time_limit``
    the answer arrives within ``1.1 * time_limit + 1`` s of this call (engine.stopping): the
    exact backends then run supervised in a child process (engine.isolate) on instances of
    more rows than their ``capabilities.isolate_above``, as they do without a limit when the
    CLI has turned supervision on (so that Ctrl-C can stop them).
    """
    if not isinstance(problem, Instance):
        raise UsageError(f"problem: expected a formulations.Instance, got {type(problem).__name__}")
    if time_limit is not None and not time_limit > 0:
        raise UsageError(f"time_limit: expected a positive number of seconds, got {time_limit!r}")
    deadline = Deadline.after(time_limit)
    backend = get_backend(solver)
    caps = backend.capabilities
    if problem.n_budgets > 1 and not caps.multiple_budgets:
        raise UsageError(
            f"solver {solver!r} supports one budget; the instance has {problem.n_budgets}"
        )
    if problem.capacities and not caps.capacities:
        raise UsageError(f"solver {solver!r} does not support per-option capacities")
    opts = dict(options or {})
    if (caps.isolate_above is not None and problem.n_rows > caps.isolate_above
            and (time_limit is not None or supervised())):
        from engine.isolate import run_isolated

        left = deadline.remaining()
        result = run_isolated(
            _solve_here, (solver, problem, None if left is None else max(left, 0.01), opts),
            deadline, lambda progress: _stopped(problem, solver, progress),
        )
    else:
        result = backend.solve(problem, time_limit=time_limit, options=opts)
    if interrupted() and result.status in ("optimal", "feasible", "time_limit"):
        # stopped by Ctrl-C / SIGTERM: say so, whatever the solver made of it (a proof it
        # completed stays a proof)
        status = "optimal" if result.status == "optimal" else "time_limit"
        result = replace(result, status=status, message=INTERRUPTED)
    return replace(result, seconds=time.perf_counter() - deadline.start)


def _solve_here(solver: str, problem: Instance, time_limit: float | None,
                options: dict[str, Any]) -> SolveResult:
    """The backend's own solve (in a supervised child process)."""
    return get_backend(solver).solve(problem, time_limit=time_limit, options=options)


def _stopped(problem: Instance, solver: str, progress: Any) -> SolveResult:
    """The answer for a child stopped from outside: its best allocation and bound, if any."""
    from engine.finalize import build_result

    return build_result(
        problem, solver=solver, assignment=progress.solution, bound=progress.bound,
        status="time_limit", message=progress.reason, detail=progress.detail,
    )
