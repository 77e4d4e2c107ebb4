"""Solve a ``LinearProgram`` (formulations.stochastic_programs) with HiGHS or OR-Tools MathOpt.

Both read the same standard-form arrays. HiGHS is the reference (bulk ``passModel``); OR-Tools
MathOpt with its bundled SCIP (``SolverType.GSCIP``; GLOP for LP relaxations) is the
cross-check. Gap tolerances are the project's definition of optimal (engine.result).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.backend import ISOLATE_ROWS
from engine.backends.highs import MIP_FEASIBILITY_TOL, solve_form
from engine.result import Status, contract
from engine.stopping import INTERRUPTED, Deadline, interrupted, supervised
from formulations.errors import UsageError
from formulations.stochastic_programs import LinearProgram

SOLVERS = ("highs", "ortools")

#: HiGHS' integrality / MIP row tolerance for the two-stage programs. Not the 1e-9 used
#: elsewhere (engine.backends.highs.MIP_FEASIBILITY_TOL): with 1e-9 HiGHS 1.16's MIP presolve
#: returned wrong "optimal" answers on the K=50, M=8 two-stage downgrade programs
#: (50 scenarios: 407,456.9 at gap 0 where a feasible
#: 469,815.6 exists and 1e-7 or presolve off give 483,584.6; 200 scenarios: 483,516.758 where
#: 1e-7 finds 483,516.949, feasible to 1.8e-12); tests/stochastic/test_highs_tolerance.py.
#: HiGHS' maintainers call 1e-9 "asking for trouble" (ERGO-Code/HiGHS#2033). The other programs
#: keep 1e-9: on the SAA chance program 1e-7 gives the same optimum 2.7x slower (83-93 s vs
#: 32-33 s).
TWO_STAGE_MIP_FEASIBILITY_TOL = 1e-7


def mip_feasibility_tolerance(program: LinearProgram) -> float:
    """The HiGHS integrality tolerance for ``program`` (see TWO_STAGE_MIP_FEASIBILITY_TOL)."""
    return TWO_STAGE_MIP_FEASIBILITY_TOL if "cutback" in program.info else MIP_FEASIBILITY_TOL



@dataclass(frozen=True, eq=False)
class MilpSolution:
    """Outcome of one program solve. ``objective`` includes the program's constant.

    ``row_dual`` (LP solves with HiGHS only): d objective / d row bound, so a binding ``<=``
    budget row has a dual >= 0 in a maximisation: the marginal value of one more unit of budget.
    """

    status: Status
    solver: str
    objective: float | None = None
    bound: float | None = None
    x: np.ndarray | None = None
    row_dual: np.ndarray | None = None
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # the result contract of engine.result (optimal needs x, a bound and the proof; a
        # bound below the objective is an error naming the solver)
        status, why = contract(self.status, self.solver, objective=self.objective,
                               bound=self.bound, has_solution=self.x is not None,
                               infeasibility=None)
        if status != self.status or why:
            object.__setattr__(self, "status", status)
            if why:
                object.__setattr__(self, "detail", {**self.detail, "message": why})

    @property
    def proven(self) -> bool:
        return self.status == "optimal"


def solve_program(
    program: LinearProgram,
    solver: str = "highs",
    *,
    time_limit: float | None = None,
    threads: int | None = None,
    log: bool = False,
    incumbent: np.ndarray | None = None,
) -> MilpSolution:
    """Solve to proven optimality (gap <= 1e-9 rel or 1e-6 abs) unless the time limit stops it.

    ``incumbent`` (HiGHS only; ignored by OR-Tools) is a feasible x handed to the solver as its
    starting solution.

    ``threads`` is left to the solver by default: HiGHS keeps one task scheduler per process and
    refuses a different thread count once it has started (the run then ends in ``kNotset``).
    """
    if solver not in SOLVERS:
        raise UsageError(f"solver: expected one of {list(SOLVERS)}, got {solver!r}")
    if time_limit is not None and not time_limit > 0:
        raise UsageError(f"time_limit: expected a positive number of seconds, got {time_limit!r}")
    start = time.perf_counter()
    if interrupted():
        # Ctrl-C / SIGTERM: the programs left are not started (a plan solves many)
        return MilpSolution(status="time_limit", solver=solver, detail={"message": INTERRUPTED})
    deadline = Deadline(start, time_limit)
    if program.n_cols > ISOLATE_ROWS and (time_limit is not None or supervised()):
        # a large program runs supervised, like a large instance (engine.isolate)
        from engine.isolate import run_isolated

        sol = run_isolated(_solve_here, (program, solver, time_limit, threads, log, incumbent),
                           deadline, lambda progress: _stopped(program, solver, progress))
    else:
        sol = _solve_here(program, solver, time_limit, threads, log, incumbent)
    return MilpSolution(
        status=sol.status, solver=sol.solver, objective=sol.objective, bound=sol.bound, x=sol.x,
        row_dual=sol.row_dual, seconds=time.perf_counter() - start, detail=sol.detail,
    )


def _solve_here(
    program: LinearProgram, solver: str, time_limit: float | None, threads: int | None,
    log: bool, incumbent: np.ndarray | None,
) -> MilpSolution:
    if solver == "highs":
        return _solve_highs(program, time_limit=time_limit, threads=threads, log=log,
                            incumbent=incumbent)
    return _solve_mathopt(program, time_limit=time_limit, threads=threads, log=log)


def _stopped(program: LinearProgram, solver: str, progress: Any) -> MilpSolution:
    """A supervised program solve stopped from outside: its best x and bound so far, if any."""
    detail = {"message": progress.reason, **progress.detail}
    x = progress.solution
    if x is None:
        return MilpSolution(status="time_limit", solver=solver, bound=progress.bound,
                            detail=detail)
    return _finish(program, solver, "time_limit", np.asarray(x, dtype=np.float64),
                   progress.bound, bool(program.integer.any()), detail)


def _finish(
    program: LinearProgram, solver: str, status: Status, x: np.ndarray | None,
    bound: float | None, is_mip: bool, detail: dict[str, Any], row_dual: np.ndarray | None = None,
) -> MilpSolution:
    if x is None:
        return MilpSolution(status=status, solver=solver, bound=bound, detail=detail)
    if is_mip:
        # integral columns are rounded so that callers read exact counts, and the rounded
        # solution is checked against every row: a solver's tolerance is not a licence
        x = np.where(program.integer, np.round(x), x)
        broken = program.violations(x, tolerance=mip_feasibility_tolerance(program))
        if broken:
            return MilpSolution(status="error", solver=solver, bound=bound, x=None, detail={
                **detail, "message": f"the {solver} solution, rounded, breaks the program: "
                                     + "; ".join(broken)})
    objective = program.objective(x)
    return MilpSolution(status=status, solver=solver, objective=objective, bound=bound, x=x,
                        row_dual=row_dual, detail=detail)


def _solve_highs(
    program: LinearProgram, *, time_limit: float | None, threads: int | None, log: bool,
    incumbent: np.ndarray | None = None,
) -> MilpSolution:
    """The program through the HiGHS backend's one path (engine.backends.highs.solve_form)."""
    is_mip = bool(program.integer.any())
    sol = solve_form(program, time_limit=time_limit, threads=threads, log=log,
                     mip_tolerance=mip_feasibility_tolerance(program), start_x=incumbent)
    if sol.x is None:
        status: Status = sol.status
        if status == "optimal":  # optimal without a solution: nothing to report as optimal
            status = "error"
        return MilpSolution(status=status, solver=sol.solver, bound=sol.bound,
                            detail=sol.detail)
    return _finish(program, sol.solver, sol.status, sol.x, sol.bound, is_mip, sol.detail,
                   sol.row_dual)


def _solve_mathopt(
    program: LinearProgram, *, time_limit: float | None, threads: int | None, log: bool
) -> MilpSolution:
    """The program through the OR-Tools backend's one path (a ModelProto built in bulk):
    SCIP for a MILP, GLOP for an LP."""
    from engine.backends.ortools_mathopt import MathOptOptions, solve_form_mathopt

    is_mip = bool(program.integer.any())
    kind, name = ("GSCIP", "ortools-scip") if is_mip else ("GLOP", "ortools-glop")
    sol = solve_form_mathopt(program, kind, name, time_limit=time_limit,
                             options=MathOptOptions(log=log, threads=threads))
    if sol.x is None:
        status: Status = "error" if sol.status == "optimal" else sol.status
        return MilpSolution(status=status, solver=name, bound=sol.bound, detail=sol.detail)
    return _finish(program, name, sol.status, sol.x, sol.bound, is_mip, sol.detail)
