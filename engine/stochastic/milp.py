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
from engine.backends.highs import MIP_FEASIBILITY_TOL, report_progress, watchdog
from engine.backends.highs import STATUS_MAP as HIGHS_STATUS_MAP
from engine.backends.tolerances import solver_rows
from engine.isolate import reporter
from engine.result import OPT_ABS_GAP, OPT_REL_GAP, Status, contract
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

# the one HiGHS status table of the project (anything it does not list is "error")
_HIGHS_STATUS: dict[str, Status] = HIGHS_STATUS_MAP


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
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", log)
    h.setOptionValue("log_to_console", log)
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    inf = h.getInfinity()
    A, row_upper = program.A, program.row_upper
    is_mip = bool(program.integer.any())
    if is_mip:
        # the budget rows as engine.backends.tolerances hands them to any MIP solver, so that
        # HiGHS' own tolerance cannot carry a plan above a budget as written
        A, row_upper = solver_rows(A, row_upper, program.budget_rows(),
                                   abs_tol=mip_feasibility_tolerance(program))
    h.passModel(
        program.n_cols, program.n_rows, int(A.nnz), 2, -1, float(program.constant),
        program.c, program.col_lower,
        np.where(np.isfinite(program.col_upper), program.col_upper, inf),
        np.where(np.isfinite(program.row_lower), program.row_lower, -inf),
        np.where(np.isfinite(row_upper), row_upper, inf),
        A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data.astype(np.float64),
        program.integer.astype(np.int32),
    )
    h.setOptionValue("mip_rel_gap", OPT_REL_GAP)
    h.setOptionValue("mip_abs_gap", OPT_ABS_GAP)
    h.setOptionValue("mip_feasibility_tolerance", mip_feasibility_tolerance(program))
    h.setOptionValue("primal_feasibility_tolerance", 1e-9)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    rep = reporter()
    if rep is not None and is_mip:
        report_progress(h, rep, lambda x: x)
    if incumbent is not None and is_mip:
        start = highspy.HighsSolution()
        start.col_value = np.asarray(incumbent, dtype=np.float64).tolist()
        start.value_valid = True
        h.setSolution(start)
    with watchdog(h, Deadline.after(time_limit)):
        run_status = h.run()
    native = str(h.getModelStatus()).split(".")[-1]
    if run_status == highspy.HighsStatus.kError and native == "kNotset":
        return MilpSolution(status="error", solver="highs", detail={
            "highs_status": native,
            "message": "HiGHS refused to run (a thread count different from the process's "
                       "first HiGHS run?)",
        })
    status = _HIGHS_STATUS.get(native, "error")
    info = h.getInfo()
    detail: dict[str, Any] = {"highs_status": native}
    name = "highs" if is_mip else "highs-lp"
    if is_mip:
        detail["nodes"] = int(info.mip_node_count)
        bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
        if info.primal_solution_status != 2 or status == "infeasible":
            return MilpSolution(status=status if status != "optimal" else "error", solver=name,
                                bound=bound, detail=detail)
        x = np.asarray(h.getSolution().col_value)
        return _finish(program, name, status, x, bound, True, detail)
    if status != "optimal":
        return MilpSolution(status=status, solver=name, detail=detail)
    sol = h.getSolution()
    x = np.asarray(sol.col_value)
    # for a maximisation HiGHS's row dual is d objective / d row bound (checked by a
    # finite-difference test in tests/stochastic)
    row_dual = np.asarray(sol.row_dual, dtype=np.float64)
    obj = float(info.objective_function_value)
    return _finish(program, name, "optimal", x, obj, False, detail, row_dual)


def _solve_mathopt(
    program: LinearProgram, *, time_limit: float | None, threads: int | None, log: bool
) -> MilpSolution:
    import datetime

    from ortools.math_opt.python import mathopt

    is_mip = bool(program.integer.any())
    model = mathopt.Model(name=program.name)
    lo, up = program.col_lower, program.col_upper
    xs = [
        model.add_variable(lb=float(lo[i]), ub=float(up[i]), is_integer=bool(program.integer[i]))
        for i in range(program.n_cols)
    ]
    A = program.A
    for r in range(program.n_rows):
        a, b = A.indptr[r], A.indptr[r + 1]
        expr = mathopt.LinearSum(
            float(v) * xs[int(j)] for j, v in zip(A.indices[a:b], A.data[a:b], strict=True)
        )
        model.add_linear_constraint(
            lb=float(program.row_lower[r]), ub=float(program.row_upper[r]), expr=expr
        )
    nz = np.flatnonzero(program.c)
    model.maximize(
        mathopt.LinearSum(float(program.c[i]) * xs[int(i)] for i in nz) + float(program.constant)
    )
    params = mathopt.SolveParameters(
        enable_output=log,
        relative_gap_tolerance=OPT_REL_GAP,
        absolute_gap_tolerance=OPT_ABS_GAP,
        threads=threads,
        time_limit=None if time_limit is None else datetime.timedelta(seconds=time_limit),
    )
    kind = mathopt.SolverType.GSCIP if is_mip else mathopt.SolverType.GLOP
    name = "ortools-scip" if is_mip else "ortools-glop"
    result = mathopt.solve(model, kind, params=params)
    reason = result.termination.reason
    tr = mathopt.TerminationReason
    status: Status = {  # type: ignore[assignment]
        tr.OPTIMAL: "optimal", tr.INFEASIBLE: "infeasible", tr.FEASIBLE: "feasible",
        tr.NO_SOLUTION_FOUND: "time_limit",
    }.get(reason, "error")
    detail: dict[str, Any] = {"mathopt_reason": reason.name}
    if status == "feasible" and result.termination.limit is not None:
        status = "time_limit"
    if not result.has_primal_feasible_solution():
        return MilpSolution(status=status if status != "optimal" else "error", solver=name,
                            detail=detail)
    values = result.variable_values()
    x = np.array([values[v] for v in xs], dtype=np.float64)
    bound = float(result.termination.objective_bounds.dual_bound)
    return _finish(program, name, status, x, bound if np.isfinite(bound) else None, is_mip, detail)
