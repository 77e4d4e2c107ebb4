"""HiGHS through highspy, built from the standard-form arrays in one bulk call."""

from __future__ import annotations

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


def _import_highspy() -> Any:
    try:
        import highspy
    except ImportError as e:  # pragma: no cover - highspy is a core dependency
        raise UsageError("solver 'highs' needs highspy: pip install highspy") from e
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
    integrality = np.full(sf.n_cols, 1 if integer else 0, dtype=np.int32)
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
        0.0,
        sf.c,
        sf.col_lower,
        sf.col_upper,
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
    h = make_highs(sf, integer=False)
    h.setOptionValue("primal_feasibility_tolerance", 1e-9)
    h.setOptionValue("dual_feasibility_tolerance", 1e-9)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    h.run()
    native = str(h.getModelStatus()).split(".")[-1]
    status = STATUS_MAP.get(native, "error")
    if status != "optimal":
        return LPRelaxation(status, None, None, None, sf)
    sol = h.getSolution()
    return LPRelaxation("optimal", float(h.getInfo().objective_function_value),
                        np.asarray(sol.col_value, dtype=np.float64),
                        np.asarray(sol.row_dual, dtype=np.float64), sf)


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
        rows = solver_rows(sf.A, sf.row_upper, sf.budget_rows(), abs_tol=MIP_FEASIBILITY_TOL)
        h = make_highs(sf, integer=True, log=options.log, threads=options.threads, rows=rows)
        rep = reporter()
        if rep is not None:
            report_progress(h, rep, lambda x: assignment_from_x(instance, x).astype(np.int32))
        h.setOptionValue("mip_rel_gap", options.gap)
        h.setOptionValue("mip_abs_gap", options.abs_gap)
        h.setOptionValue("mip_feasibility_tolerance", MIP_FEASIBILITY_TOL)
        h.setOptionValue("primal_feasibility_tolerance", MIP_FEASIBILITY_TOL)
        if time_limit is not None:
            h.setOptionValue("time_limit", float(time_limit))
        if options.seed is not None:
            h.setOptionValue("random_seed", options.seed)
        if options.start is not None:
            # a feasible allocation to start from (HiGHS checks it and keeps it if it is)
            a = np.asarray(options.start, dtype=np.int64)
            picked = a >= 0
            x0 = np.zeros(sf.n_cols)
            x0[instance.offsets[:-1][picked] + a[picked]] = 1.0
            start = _import_highspy().HighsSolution()
            start.col_value = x0.tolist()
            start.value_valid = True
            h.setSolution(start)
        with watchdog(h, Deadline.after(time_limit), active=rep is None):
            h.run()
        model_status = h.getModelStatus()
        native = str(model_status).split(".")[-1]
        status = STATUS_MAP.get(native, "error")
        info = h.getInfo()
        name = "highs"
        detail: dict[str, Any] = {"highs_status": native}
        detail["nodes"] = int(info.mip_node_count)
        bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
        if status == "infeasible":
            return build_result(
                instance,
                solver=name,
                assignment=None,
                bound=None,
                status="infeasible",
                detail=detail,
            )
        if info.primal_solution_status != 2:  # 2 = feasible solution available
            final: Status = status if status in ("time_limit", "error") else "error"
            return build_result(
                instance,
                solver=name,
                assignment=None,
                bound=bound,
                status=final,
                detail=detail,
                message="no feasible allocation found" if final == "time_limit" else "",
            )
        x = np.asarray(h.getSolution().col_value)
        assignment = assignment_from_x(instance, x)
        forced: Status | None = status if status in ("time_limit", "error") else None
        return build_result(
            instance, solver=name, assignment=assignment, bound=bound, status=forced, detail=detail
        )
