"""HiGHS through highspy, built from the standard-form arrays in one bulk call."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from engine.backend import ISOLATE_ROWS, MIP_MAX_COEFFICIENT, Capabilities
from engine.backends.tolerances import solver_rows
from engine.finalize import build_result
from engine.isolate import Reporter, reporter
from engine.options import Options, positive
from engine.result import OPT_ABS_GAP, OPT_REL_GAP, SolveResult, Status
from engine.stopping import Deadline, interrupted
from formulations.errors import UsageError
from formulations.instance import Instance
from formulations.standard_form import StandardForm, assignment_from_x, compile_standard_form

_ROWWISE = 2
_MAXIMIZE = -1

#: HiGHS' integrality / MIP row tolerance for allocation instances: 1e-9, the project's
#: feasibility tolerance, so that HiGHS never takes a cell that only fits within its own looser
#: tolerance (with 1e-7 a cost of 6e-8 against a limit of 0 "fits", engine.finalize repairs the
#: allocation away and the result loses its proof). The two-stage programs use a looser value
#: (engine.stochastic.milp.TWO_STAGE_MIP_FEASIBILITY_TOL) because 1e-9 broke HiGHS' presolve there.
MIP_FEASIBILITY_TOL = 1e-9

# HiGHS model status name -> our status. Anything not listed is "error".
STATUS_MAP: dict[str, Status] = {
    "kOptimal": "optimal",
    "kInfeasible": "infeasible",
    # every column is bounded (binaries, counts <= cluster size), so "unbounded" cannot happen
    "kUnboundedOrInfeasible": "infeasible",
    "kTimeLimit": "time_limit",
    "kIterationLimit": "time_limit",
    "kSolutionLimit": "time_limit",
    "kInterrupt": "time_limit",
    "kHighsInterrupt": "time_limit",
}


_banner_done = False


def _import_highspy() -> Any:
    """highspy, with HiGHS' start-up banner silenced: the first Highs object of a process
    prints it on file descriptor 1 before any option can be set, so the first one is made with
    that descriptor pointed at /dev/null. A log asked for (option ``log``) still prints."""
    global _banner_done
    try:
        import highspy
    except ImportError as e:  # pragma: no cover - highspy is a core dependency
        raise UsageError("solver 'highs' needs highspy: pip install highspy") from e
    if not _banner_done:
        _banner_done = True
        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
    return highspy


@dataclass(frozen=True)
class HighsOptions(Options):
    """Options of the ``highs`` backend.

    ``log``: HiGHS' log on stderr; ``threads``; ``gap``: the relative MIP gap it may stop at
    (default the project's 1e-9; a looser one gives ``feasible`` unless the proof reaches
    1e-9); ``abs_gap``: the absolute one (default 1e-6); ``seed``; ``start``: a feasible
    assignment to start from.
    """

    log: bool = False
    threads: int | None = None
    gap: float = OPT_REL_GAP
    abs_gap: float = OPT_ABS_GAP
    seed: int | None = None
    start: Any = None


def make_highs(sf: StandardForm, *, integer: bool, log: bool = False, threads: int | None = None,
               rows: tuple[Any, np.ndarray] | None = None) -> Any:
    """A Highs object loaded with the standard form (maximisation); ``rows`` = (A, row_upper)
    replaces the standard form's matrix and row upper bounds (engine.backends.tolerances)."""
    highspy = _import_highspy()
    h = highspy.Highs()
    h.setOptionValue("output_flag", log)
    h.setOptionValue("log_to_console", log)
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    A, upper = (sf.A, sf.row_upper) if rows is None else rows
    integrality = (sf.integer if integer else np.zeros(sf.n_cols, dtype=bool)).astype(np.int32)
    # a huge finite bound stands for infinity in HiGHS
    inf = h.getInfinity()
    row_lower = np.where(np.isfinite(sf.row_lower), sf.row_lower, -inf)
    row_upper = np.where(np.isfinite(upper), upper, inf)
    status = h.passModel(
        sf.n_cols,
        sf.n_rows,
        int(A.nnz),
        _ROWWISE,
        _MAXIMIZE,
        float(sf.constant),
        sf.c,
        sf.col_lower,
        np.where(np.isfinite(sf.col_upper), sf.col_upper, inf),
        row_lower,
        row_upper,
        A.indptr.astype(np.int32),
        A.indices.astype(np.int32),
        A.data.astype(np.float64),
        integrality,
    )
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS rejected the model")
    return h


def report_progress(h: Any, rep: Reporter, convert: Callable[[np.ndarray], np.ndarray]) -> None:
    """Send HiGHS' improving solutions (``convert``-ed from x) and its dual bound to the
    supervisor of this child process (engine.isolate), so a stopped solve keeps them."""
    highspy = _import_highspy()
    kinds = highspy.cb.HighsCallbackType

    def callback(kind: Any, _message: Any, data_out: Any, _data_in: Any, _user: Any) -> None:
        bound = float(data_out.mip_dual_bound)
        if kind == kinds.kCallbackMipImprovingSolution:
            rep.incumbent(convert(np.asarray(data_out.mip_solution, dtype=np.float64)),
                          bound if np.isfinite(bound) else None)
        elif kind == kinds.kCallbackMipInterrupt:
            rep.bound(bound)

    h.setCallback(callback, None)
    h.startCallback(kinds.kCallbackMipImprovingSolution)
    h.startCallback(kinds.kCallbackMipInterrupt)


@contextmanager
def watchdog(h: Any, deadline: Deadline, *, active: bool = True) -> Iterator[None]:
    """While HiGHS runs in this process: call ``cancelSolve`` on an interrupt or a little
    after the deadline (HiGHS looks at it once its search has started; its set-up before the
    first LP ignores it, which is why large solves run supervised: engine.isolate)."""
    if not active:
        yield
        return
    done = threading.Event()
    stop_at = deadline.hard_stop()

    def watch() -> None:
        while not done.wait(0.02):
            if interrupted() or (stop_at is not None and time.perf_counter() >= stop_at):
                h.cancelSolve()
                return

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    try:
        yield
    finally:
        done.set()
        t.join(1.0)


@dataclass(frozen=True, eq=False)
class FormSolution:
    """What a solver made of a standard form, before the caller's own checks (an instance's
    build_result, a program's rounding and row check): the status from the backend's one
    status table, the bound, x where there is a solution, the row duals of an LP."""

    status: Status
    solver: str
    bound: float | None
    x: np.ndarray | None
    row_dual: np.ndarray | None
    objective: float | None
    detail: dict[str, Any]


def solve_form(
    sf: StandardForm, *, integer: bool = True, time_limit: float | None = None,
    log: bool = False, threads: int | None = None, gap: float = OPT_REL_GAP,
    abs_gap: float = OPT_ABS_GAP, mip_tolerance: float = MIP_FEASIBILITY_TOL,
    seed: int | None = None, start_x: np.ndarray | None = None,
    convert: Callable[[np.ndarray], np.ndarray] | None = None,
) -> FormSolution:
    """HiGHS on a standard form in bulk (one passModel): the one HiGHS path of the project.

    A MIP (``integer`` and some integer column) gets its budget rows as
    engine.backends.tolerances makes them (its ``mip_tolerance`` cannot carry a solution above a
    budget as written), the project's gaps, ``start_x`` as its starting solution and, in a
    supervised child (engine.isolate), progress reports (x ``convert``-ed). An LP (the
    relaxation: ``integer`` False) runs on the rows as written with 1e-9 primal and dual
    tolerances and returns its row duals (d objective / d row bound: >= 0 on a binding budget
    row of this maximisation).
    """
    mip = integer and bool(sf.integer.any())
    rows = (solver_rows(sf.A, sf.row_upper, sf.budget_rows(), abs_tol=mip_tolerance)
            if mip else None)
    h = make_highs(sf, integer=mip, log=log, threads=threads, rows=rows)
    rep = reporter()
    if mip:
        if rep is not None:
            report_progress(h, rep, convert or (lambda x: x))
        h.setOptionValue("mip_rel_gap", gap)
        h.setOptionValue("mip_abs_gap", abs_gap)
        h.setOptionValue("mip_feasibility_tolerance", mip_tolerance)
        h.setOptionValue("primal_feasibility_tolerance", MIP_FEASIBILITY_TOL)
    else:
        h.setOptionValue("primal_feasibility_tolerance", 1e-9)
        h.setOptionValue("dual_feasibility_tolerance", 1e-9)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if seed is not None:
        h.setOptionValue("random_seed", seed)
    if start_x is not None and mip:
        start = _import_highspy().HighsSolution()
        start.col_value = np.asarray(start_x, dtype=np.float64).tolist()
        start.value_valid = True
        h.setSolution(start)
    with watchdog(h, Deadline.after(time_limit), active=rep is None):
        run_status = h.run()
    highspy = _import_highspy()
    native = str(h.getModelStatus()).split(".")[-1]
    name = "highs" if mip else "highs-lp"
    detail: dict[str, Any] = {"highs_status": native}
    if run_status == highspy.HighsStatus.kError and native == "kNotset":
        detail["message"] = ("HiGHS refused to run (a thread count different from the "
                             "process's first HiGHS run?)")
        return FormSolution("error", name, None, None, None, None, detail)
    status = STATUS_MAP.get(native, "error")
    info = h.getInfo()
    if mip:
        detail["nodes"] = int(info.mip_node_count)
        bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
        if status == "infeasible" or info.primal_solution_status != 2:  # 2: a solution
            return FormSolution(status, name, None if status == "infeasible" else bound,
                                None, None, None, detail)
        x = np.asarray(h.getSolution().col_value, dtype=np.float64)
        return FormSolution(status, name, bound, x, None,
                            float(info.objective_function_value), detail)
    if status != "optimal":
        return FormSolution(status, name, None, None, None, None, detail)
    sol = h.getSolution()
    value = float(info.objective_function_value)
    return FormSolution("optimal", name, value, np.asarray(sol.col_value, dtype=np.float64),
                        np.asarray(sol.row_dual, dtype=np.float64), value, detail)


@dataclass(frozen=True, eq=False)
class LPRelaxation:
    """The LP relaxation of an instance: a bound (its optimum), not an allocation.

    ``row_dual``: d objective / d row bound (a binding budget row of this maximisation has a
    dual >= 0: the value of one more unit of budget); ``x`` the LP solution (columns = rows of
    the instance table). Both None unless ``status`` is "optimal".
    """

    status: Status
    bound: float | None
    x: np.ndarray | None
    row_dual: np.ndarray | None
    standard_form: StandardForm


def solve_lp_relaxation(instance: Instance, *, time_limit: float | None = None) -> LPRelaxation:
    """The LP relaxation with HiGHS on the budgets as written (its optimum bounds the MIP)."""
    sf = compile_standard_form(instance)
    lp = solve_form(sf, integer=False, time_limit=time_limit)
    return LPRelaxation(lp.status, lp.bound, lp.x, lp.row_dual, sf)


class HighsBackend:
    """Exact MIP with HiGHS; gap tolerances set to the project's definition of optimal.

    The budget rows are handed to HiGHS as ``engine.backends.tolerances.solver_rows`` makes
    them, so that its 1e-9 feasibility tolerance cannot overspend a budget as written.
    """

    name: ClassVar[str] = "highs"
    options_type: ClassVar[type[HighsOptions]] = HighsOptions
    capabilities: ClassVar[Capabilities] = Capabilities(max_coefficient=MIP_MAX_COEFFICIENT,
                                                        isolate_above=ISOLATE_ROWS)

    def solve(
        self, instance: Instance, *, time_limit: float | None, options: HighsOptions
    ) -> SolveResult:
        positive(self.name, gap=options.gap, abs_gap=options.abs_gap, threads=options.threads)
        sf = compile_standard_form(instance)
        start_x = None
        if options.start is not None:
            # a feasible allocation to start from (HiGHS checks it and keeps it if it is)
            a = np.asarray(options.start, dtype=np.int64)
            picked = a >= 0
            start_x = np.zeros(sf.n_cols)
            start_x[instance.offsets[:-1][picked] + a[picked]] = 1.0
        sol = solve_form(
            sf, time_limit=time_limit, log=options.log, threads=options.threads, gap=options.gap,
            abs_gap=options.abs_gap, seed=options.seed, start_x=start_x,
            convert=lambda x: assignment_from_x(instance, x).astype(np.int32),
        )
        if sol.status == "infeasible":
            return build_result(instance, solver=self.name, assignment=None, bound=None,
                                status="infeasible", detail=sol.detail)
        if sol.x is None:
            final: Status = sol.status if sol.status in ("time_limit", "error") else "error"
            return build_result(
                instance, solver=self.name, assignment=None, bound=sol.bound, status=final,
                detail=sol.detail,
                message="no feasible allocation found" if final == "time_limit"
                else str(sol.detail.get("message", "")),
            )
        forced: Status | None = sol.status if sol.status in ("time_limit", "error") else None
        return build_result(instance, solver=self.name, assignment=assignment_from_x(instance,
                            sol.x), bound=sol.bound, status=forced, detail=sol.detail)
