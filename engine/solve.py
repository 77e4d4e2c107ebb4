"""engine.solve: the single entry point, ``solve(problem, solver, *, time_limit, options)``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from engine.options import parse_options
from engine.presolve import Reduction, check_coefficients, reduce_unfit
from engine.registry import get_backend
from engine.result import SolveResult, Status
from engine.stopping import INTERRUPTED, Deadline, interrupted, supervised
from formulations.cluster_program import ClusterProgram
from formulations.errors import UsageError
from formulations.instance import Instance

if TYPE_CHECKING:
    from engine.clusters import ClusterPlan


@overload
def solve(problem: Instance, solver: str = ..., *, time_limit: float | None = ...,
          options: Mapping[str, Any] | None = ...) -> SolveResult: ...
@overload
def solve(problem: ClusterProgram, solver: str = ..., *, time_limit: float | None = ...,
          options: Mapping[str, Any] | None = ...) -> ClusterPlan: ...


def solve(
    problem: Instance | ClusterProgram,
    solver: str = "highs",
    *,
    time_limit: float | None = None,
    options: Mapping[str, Any] | None = None,
) -> SolveResult | ClusterPlan:
    """Solve an MCKP instance or a cluster program; nothing is written back into ``problem``.

    A cluster program (formulations.cluster_program) is solved exactly at its limits with
    ``solver`` "highs" or "ortools" and options engine.clusters.ClusterOptions; the answer is
    an engine.clusters.ClusterPlan (counts per cluster and option), under the same contract.

    ``options`` are the backend's (its ``options_type``, engine.options): an unknown or
    mistyped one is a UsageError naming it. Options that can never fit a budget are removed
    first (engine.presolve); a coefficient the backend cannot hold is refused with a
    UsageError naming the row.

    ``seconds`` in the result is the wall time including model building. With ``time_limit``
    the answer arrives within ``1.1 * time_limit + 1`` s of this call (engine.stopping): the
    exact backends then run supervised in a child process (engine.isolate) on instances of
    more rows than their ``capabilities.isolate_above``, as they do without a limit when the
    CLI has turned supervision on (so that Ctrl-C can stop them).
    """
    if isinstance(problem, ClusterProgram):
        return _solve_clusters(problem, solver, time_limit, options)
    if not isinstance(problem, Instance):
        raise UsageError(f"problem: expected a formulations.Instance or ClusterProgram, got "
                         f"{type(problem).__name__}")
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
    opts = parse_options(backend.options_type, solver, options)
    reduction = reduce_unfit(problem)
    if reduction.empty_unit >= 0 or reduction.infeasible:
        return _no_option_fits(problem, _reported(solver, opts), reduction, deadline)
    inst = reduction.instance
    check_coefficients(inst, solver, caps.max_coefficient)
    if inst.n_units == 0:
        # every unit is left with its null option only (at-most-one): nothing to solve
        from engine.finalize import build_result

        result = build_result(inst, solver=_reported(solver, opts),
                              assignment=np.zeros(0, dtype=np.int64), bound=0.0)
    elif (caps.isolate_above is not None and inst.n_rows > caps.isolate_above
            and (time_limit is not None or supervised())):
        from engine.isolate import run_isolated

        left = deadline.remaining()
        result = run_isolated(
            _solve_here, (solver, inst, None if left is None else max(left, 0.01), opts),
            deadline, lambda progress: _stopped(inst, solver, progress),
        )
    else:
        result = backend.solve(inst, time_limit=time_limit, options=opts)
    result = reduction.restore(result)
    if interrupted() and result.status in ("optimal", "feasible", "time_limit"):
        # stopped by Ctrl-C / SIGTERM: say so, whatever the solver made of it (a proof it
        # completed stays a proof)
        status: Status = "optimal" if result.status == "optimal" else "time_limit"
        result = replace(result, status=status, message=INTERRUPTED)
    return replace(result, seconds=time.perf_counter() - deadline.start)


def _solve_clusters(program: ClusterProgram, solver: str, time_limit: float | None,
                    options: Mapping[str, Any] | None) -> ClusterPlan:
    from engine.clusters import CLUSTER_SOLVERS, ClusterOptions, solve_cluster_program

    if time_limit is not None and not time_limit > 0:
        raise UsageError(f"time_limit: expected a positive number of seconds, got {time_limit!r}")
    if solver not in CLUSTER_SOLVERS:
        raise UsageError(f"solver: a cluster program is solved exactly with one of "
                         f"{list(CLUSTER_SOLVERS)}, got {solver!r}")
    opts = parse_options(ClusterOptions, solver, options)
    return solve_cluster_program(program, solver=solver, response=opts.response,
                                 alpha=opts.alpha, time_limit=time_limit)


def _reported(solver: str, options: Any) -> str:
    """The name a result carries where the engine answers without the backend."""
    return "dual-dask" if solver == "dual" and getattr(options, "backend", "") == "dask" else solver


def _no_option_fits(problem: Instance, solver: str, reduction: Reduction,
                    deadline: Deadline) -> SolveResult:
    from engine.finalize import build_result

    message = reduction.infeasible
    if not message:
        u = reduction.empty_unit
        unit = problem.unit_ids[u]
        unit = unit.item() if hasattr(unit, "item") else unit
        message = (f"unit {unit!r} (position {u}): every option breaks budget "
                   f"{reduction.breaks!r} even with every other unit at its cheapest")
    result = build_result(problem, solver=solver, assignment=None, bound=None,
                          status="infeasible", message=message)
    return replace(result, seconds=time.perf_counter() - deadline.start)


def _solve_here(solver: str, problem: Instance, time_limit: float | None,
                options: Any) -> SolveResult:
    """The backend's own solve (in a supervised child process)."""
    return get_backend(solver).solve(problem, time_limit=time_limit, options=options)


def _stopped(problem: Instance, solver: str, progress: Any) -> SolveResult:
    """The answer for a child stopped from outside: its best allocation and bound, if any."""
    from engine.finalize import build_result

    return build_result(
        problem, solver=solver, assignment=progress.solution, bound=progress.bound,
        status="time_limit", message=progress.reason, detail=progress.detail,
    )
