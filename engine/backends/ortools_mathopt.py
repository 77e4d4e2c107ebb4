"""OR-Tools MathOpt (bundled SCIP by default), fed the standard-form arrays as one ModelProto.

The model is written as a protocol buffer from the arrays in bulk (ids, bounds, the sparse
matrix in row-major order) and loaded with ``Model.from_model_proto``, so there is no Python call
per variable while building. Any MathOpt solver that handles binaries can be chosen with the
option ``solver_type`` (``"gscip"`` default, ``"highs"``, ``"cp_sat"``, ``"glpk"``, ``"gurobi"``).
"""

from __future__ import annotations

import datetime
import math
import sys
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from engine.backend import ISOLATE_ROWS, MIP_MAX_COEFFICIENT, Capabilities
from engine.backends.highs import FormSolution
from engine.backends.tolerances import solver_rows
from engine.finalize import build_result
from engine.options import Options, positive
from engine.result import OPT_ABS_GAP, OPT_REL_GAP, SolveResult, Status
from formulations.assignment import evaluate
from formulations.errors import UsageError
from formulations.instance import Instance
from formulations.standard_form import StandardForm, assignment_from_x, compile_standard_form

# MathOpt TerminationReason name -> our status. Anything not listed is "error".
# FEASIBLE / NO_SOLUTION_FOUND mean "stopped on a limit"; the only limit this backend sets is
# time (MathOpt reports reaching the gap tolerances as OPTIMAL), so both read as time_limit.
STATUS_MAP: dict[str, Status] = {
    "OPTIMAL": "optimal",
    "INFEASIBLE": "infeasible",
    "FEASIBLE": "time_limit",
    "NO_SOLUTION_FOUND": "time_limit",
}

# option value -> (MathOpt SolverType name, the name reported in SolveResult.solver).
# Only solvers that accept integer variables; GLOP, PDLP and the conic ones solve LPs only.
SOLVER_TYPES: dict[str, tuple[str, str]] = {
    "gscip": ("GSCIP", "ortools-scip"),
    "scip": ("GSCIP", "ortools-scip"),
    "highs": ("HIGHS", "ortools-highs"),
    "cp_sat": ("CP_SAT", "ortools-cpsat"),
    "cp-sat": ("CP_SAT", "ortools-cpsat"),
    "glpk": ("GLPK", "ortools-glpk"),
    "gurobi": ("GUROBI", "ortools-gurobi"),
}


def _import_mathopt() -> Any:
    try:
        from ortools.math_opt.python import mathopt
    except ImportError as e:
        raise UsageError("solver 'ortools' needs OR-Tools: pip install ortools") from e
    return mathopt


#: per MathOpt solver type, the row feasibility tolerance this backend sets, (absolute,
#: relative), which the budget rows are scaled against (engine.backends.tolerances); other
#: solver types keep their own, and the engine's re-check repairs what they overspend
FEASIBILITY: dict[str, tuple[float, float]] = {"GSCIP": (0.0, 1e-9), "HIGHS": (1e-9, 0.0)}


def model_proto(sf: StandardForm, name: str = "mckp",
                rows: tuple[Any, np.ndarray] | None = None, *, integer: bool = True) -> Any:
    """A MathOpt ModelProto of the standard form, built from its arrays in bulk: its columns
    (integer where the form says so, unless ``integer`` is False: the LP relaxation), ranged
    rows, maximise c @ x + constant. ``rows`` = (A, row_upper) replaces the matrix and the
    row upper bounds."""
    A, row_upper = (sf.A, sf.row_upper) if rows is None else rows
    from ortools.math_opt import model_pb2, sparse_containers_pb2

    n_cols, n_rows = sf.n_cols, sf.n_rows
    variables = model_pb2.VariablesProto(
        ids=range(n_cols),
        lower_bounds=sf.col_lower.tolist(),
        upper_bounds=sf.col_upper.tolist(),
        integers=(sf.integer if integer else np.zeros(n_cols, dtype=bool)).tolist(),
    )
    # MathOpt wants no explicit zeros in sparse vectors
    nz = np.flatnonzero(sf.c)
    objective = model_pb2.ObjectiveProto(
        maximize=True, offset=float(sf.constant),
        linear_coefficients=sparse_containers_pb2.SparseDoubleVectorProto(
            ids=nz.tolist(), values=sf.c[nz].tolist()
        ),
    )
    constraints = model_pb2.LinearConstraintsProto(
        ids=range(n_rows), lower_bounds=sf.row_lower.tolist(),
        upper_bounds=np.asarray(row_upper).tolist(),
    )
    coo = A.tocoo()  # from a CSR with sorted indices: row-major, as MathOpt requires
    keep = coo.data != 0
    matrix = sparse_containers_pb2.SparseDoubleMatrixProto(
        row_ids=coo.row[keep].tolist(),
        column_ids=coo.col[keep].tolist(),
        coefficients=coo.data[keep].tolist(),
    )
    return model_pb2.ModelProto(
        name=name,
        variables=variables,
        objective=objective,
        linear_constraints=constraints,
        linear_constraint_matrix=matrix,
    )


def _log_to_stderr(lines: list[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)


@dataclass(frozen=True)
class MathOptOptions(Options):
    """Options of the ``ortools`` backend: ``solver_type`` (see SOLVER_TYPES; a MathOpt
    SolverType is accepted too), ``log`` (the solver's log on stderr), ``threads``, ``gap``
    (relative MIP gap, default 1e-9), ``seed``."""

    solver_type: Any = "gscip"
    log: bool = False
    threads: int | None = None
    gap: float = OPT_REL_GAP
    seed: int | None = None


def _solver_type(options: MathOptOptions) -> tuple[str, str]:
    raw = options.solver_type
    key = str(getattr(raw, "name", raw)).lower()
    if key not in SOLVER_TYPES:
        raise UsageError(
            f"option solver_type: expected one of {sorted(SOLVER_TYPES)} "
            f"(MathOpt solvers that handle binary variables), got {raw!r}"
        )
    return SOLVER_TYPES[key]


def _parameters(mathopt: Any, solver_type: str, time_limit: float | None,
                options: MathOptOptions) -> Any:
    params = mathopt.SolveParameters(
        relative_gap_tolerance=options.gap, absolute_gap_tolerance=OPT_ABS_GAP,
    )
    if time_limit is not None:
        params.time_limit = datetime.timedelta(seconds=float(time_limit))
    if options.threads is not None:
        params.threads = options.threads
    if options.seed is not None:
        params.random_seed = options.seed
    if solver_type == "GSCIP":
        # SCIP's default feasibility tolerance (1e-6) lets rounded x break a budget by more than
        # the project's 1e-9; finalize would repair that, at a cost in value, so ask for 1e-9
        from ortools.math_opt.solvers.gscip import gscip_pb2

        params.gscip = gscip_pb2.GScipParameters(real_params={"numerics/feastol": 1e-9})
    elif solver_type == "HIGHS":
        # MathOpt leaves HiGHS at its defaults (1e-7 / 1e-6): the project's 1e-9, as `highs`
        from ortools.math_opt.solvers import highs_pb2

        params.highs = highs_pb2.HighsOptionsProto(double_options={
            "primal_feasibility_tolerance": 1e-9, "mip_feasibility_tolerance": 1e-9})
    return params


class OrToolsMathOptBackend:
    """Exact MIP through OR-Tools MathOpt; SCIP (``SolverType.GSCIP``) unless told otherwise."""

    name: ClassVar[str] = "ortools"
    options_type: ClassVar[type[MathOptOptions]] = MathOptOptions
    capabilities: ClassVar[Capabilities] = Capabilities(max_coefficient=MIP_MAX_COEFFICIENT,
                                                        isolate_above=ISOLATE_ROWS)

    def __init__(self) -> None:
        _import_mathopt()

    def solve(
        self, instance: Instance, *, time_limit: float | None, options: MathOptOptions
    ) -> SolveResult:
        positive(self.name, gap=options.gap, threads=options.threads)
        type_name, solver_name = _solver_type(options)
        sf = compile_standard_form(instance)
        rel_tol = FEASIBILITY.get(type_name, (0.0, 0.0))[1]
        deadline = None if time_limit is None else time.perf_counter() + time_limit
        run = self._run(instance, sf, type_name, solver_name, time_limit, options)
        if isinstance(run, SolveResult):
            return run
        status, bound, assignment, detail = run
        if rel_tol > 0 and not evaluate(instance, assignment).feasible:
            # a relative tolerance carried the allocation above a target (see
            # engine.backends.tolerances): solve again with the targets lowered by it; the
            # first bound stays the bound (its problem holds every feasible allocation)
            left = None if deadline is None else max(deadline - time.perf_counter(), 0.01)
            again = self._run(instance, sf, type_name, solver_name, left, options,
                              shrink=rel_tol)
            detail["resolved"] = "targets lowered by the solver's relative tolerance"
            if isinstance(again, SolveResult) and again.status == "infeasible":
                return build_result(
                    instance, solver=solver_name, assignment=None, bound=bound, status="error",
                    detail=detail,
                    message=f"{type_name}'s relative tolerance ({rel_tol:g}) takes an allocation "
                            "above a budget and finds none within it: the instance may be "
                            "infeasible as written; solve it with 'highs'")
            if not isinstance(again, SolveResult):
                status2, _, assignment, detail2 = again
                detail["second_solve"] = detail2
                if status2 == "time_limit":
                    status = "time_limit"
        forced: Status | None = status if status in ("time_limit", "error") else None
        return build_result(instance, solver=solver_name, assignment=assignment, bound=bound,
                            status=forced, detail=detail)

    def _run(
        self, instance: Instance, sf: StandardForm, type_name: str, solver_name: str,
        time_limit: float | None, options: MathOptOptions, *, shrink: float = 0.0,
    ) -> SolveResult | tuple[Status, float | None, np.ndarray, dict[str, Any]]:
        """One MathOpt solve: (status, bound, assignment, detail), or a finished SolveResult
        where there is no allocation."""
        sol = solve_form_mathopt(sf, type_name, solver_name, time_limit=time_limit,
                                 options=options, shrink=shrink)
        if sol.status == "infeasible":
            return build_result(instance, solver=solver_name, assignment=None, bound=None,
                                status="infeasible", detail=sol.detail)
        if sol.x is None:
            final: Status = sol.status if sol.status in ("time_limit", "error") else "error"
            return build_result(
                instance, solver=solver_name, assignment=None, bound=sol.bound, status=final,
                detail=sol.detail,
                message="no feasible allocation found" if final == "time_limit"
                else str(sol.detail.get("message", "")),
            )
        return sol.status, sol.bound, assignment_from_x(instance, sol.x), sol.detail


def solve_form_mathopt(
    sf: StandardForm, type_name: str = "GSCIP", solver_name: str = "ortools-scip", *,
    time_limit: float | None = None, options: MathOptOptions | None = None,
    shrink: float = 0.0, integer: bool = True,
) -> FormSolution:
    """MathOpt on a standard form (one ModelProto built in bulk): the one OR-Tools path of the
    project, for instances and the stochastic programs alike. Budget rows as
    engine.backends.tolerances makes them for the solver type's tolerance (FEASIBILITY)."""
    mathopt = _import_mathopt()
    opts = options or MathOptOptions()
    mip = integer and bool(sf.integer.any())
    abs_tol, rel_tol = FEASIBILITY.get(type_name, (0.0, 0.0)) if mip else (0.0, 0.0)
    rows = solver_rows(sf.A, sf.row_upper, sf.budget_rows(), abs_tol=abs_tol, rel_tol=rel_tol,
                       shrink=shrink) if mip else None
    model = mathopt.Model.from_model_proto(model_proto(sf, name=sf.name or "model", rows=rows,
                                                       integer=mip))
    params = _parameters(mathopt, type_name, time_limit, opts)
    try:
        result = mathopt.solve(
            model, getattr(mathopt.SolverType, type_name), params=params,
            # the solver log goes to stderr, never stdout (``--json`` prints only JSON there)
            msg_cb=_log_to_stderr if opts.log else None,
        )
    except Exception as e:
        # OR-Tools 9.15 itself fails (AttributeError) while converting the status of a
        # solver type it was built without, so the cause is read from the exception chain
        cause = " / ".join(str(x) for x in (e, e.__context__) if x is not None)
        if "not registered" in cause or "not been compiled" in cause:
            raise UsageError(
                f"option solver_type: {type_name} is not compiled into this OR-Tools build; "
                "use gscip, highs or cp_sat"
            ) from None
        if type_name == "GUROBI":
            raise UsageError(
                "option solver_type: MathOpt could not start Gurobi, which needs the Gurobi "
                f"shared library and a licence (pip install gurobipy): {cause}"
            ) from None
        return FormSolution("error", solver_name, None, None, None, None,
                            {"message": f"MathOpt {type_name}: {cause}"})
    term = result.termination
    native = term.reason.name
    status = STATUS_MAP.get(native, "error")
    detail: dict[str, Any] = {"mathopt_termination": native}
    if term.limit is not None:
        detail["mathopt_limit"] = term.limit.name
    if term.detail:
        detail["mathopt_detail"] = term.detail
    if result.solve_stats.node_count:
        detail["nodes"] = int(result.solve_stats.node_count)
    dual = result.dual_bound()
    bound = float(dual) if math.isfinite(dual) else None
    if status == "infeasible" or not result.has_primal_feasible_solution():
        return FormSolution(status, solver_name, None if status == "infeasible" else bound,
                            None, None, None, detail)
    # the primal values straight from the result's proto, in bulk (no call per variable)
    primal = result.to_proto().solutions[0].primal_solution.variable_values
    x = np.zeros(sf.n_cols)
    x[np.asarray(primal.ids, dtype=np.int64)] = np.asarray(primal.values, dtype=np.float64)
    return FormSolution(status, solver_name, bound, x, None, float(result.objective_value()),
                        detail)
