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
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from engine.backend import Capabilities
from engine.finalize import build_result
from engine.result import OPT_ABS_GAP, OPT_REL_GAP, SolveResult, Status
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


def model_proto(sf: StandardForm, name: str = "mckp") -> Any:
    """A MathOpt ModelProto of the standard form: binary columns, ranged rows, maximise c @ x."""
    from ortools.math_opt import model_pb2, sparse_containers_pb2

    n_cols, n_rows = sf.n_cols, sf.n_rows
    variables = model_pb2.VariablesProto(
        ids=range(n_cols),
        lower_bounds=sf.col_lower.tolist(),
        upper_bounds=sf.col_upper.tolist(),
        integers=[True] * n_cols,
    )
    # MathOpt wants no explicit zeros in sparse vectors
    nz = np.flatnonzero(sf.c)
    objective = model_pb2.ObjectiveProto(
        maximize=True,
        linear_coefficients=sparse_containers_pb2.SparseDoubleVectorProto(
            ids=nz.tolist(), values=sf.c[nz].tolist()
        ),
    )
    constraints = model_pb2.LinearConstraintsProto(
        ids=range(n_rows), lower_bounds=sf.row_lower.tolist(), upper_bounds=sf.row_upper.tolist()
    )
    coo = sf.A.tocoo()  # from a CSR with sorted indices: row-major, as MathOpt requires
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


def _solver_type(options: Mapping[str, Any]) -> tuple[str, str]:
    raw = options.get("solver_type", "gscip")
    key = str(getattr(raw, "name", raw)).lower()
    if key not in SOLVER_TYPES:
        raise UsageError(
            f"option solver_type: expected one of {sorted(SOLVER_TYPES)} "
            f"(MathOpt solvers that handle binary variables), got {raw!r}"
        )
    return SOLVER_TYPES[key]


def _parameters(mathopt: Any, solver_type: str, time_limit: float | None,
                options: Mapping[str, Any]) -> Any:
    params = mathopt.SolveParameters(
        relative_gap_tolerance=float(options.get("gap", OPT_REL_GAP)),
        absolute_gap_tolerance=OPT_ABS_GAP,
    )
    if time_limit is not None:
        params.time_limit = datetime.timedelta(seconds=float(time_limit))
    if options.get("threads") is not None:
        params.threads = int(options["threads"])
    if "seed" in options:
        params.random_seed = int(options["seed"])
    if solver_type == "GSCIP":
        # SCIP's default feasibility tolerance (1e-6) lets rounded x break a budget by more than
        # the project's 1e-9; finalize would repair that, at a cost in value, so ask for 1e-9
        from ortools.math_opt.solvers.gscip import gscip_pb2

        params.gscip = gscip_pb2.GScipParameters(real_params={"numerics/feastol": 1e-9})
    return params


class OrToolsMathOptBackend:
    """Exact MIP through OR-Tools MathOpt; SCIP (``SolverType.GSCIP``) unless told otherwise."""

    name: ClassVar[str] = "ortools"
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self) -> None:
        _import_mathopt()

    def solve(
        self, instance: Instance, *, time_limit: float | None, options: Mapping[str, Any]
    ) -> SolveResult:
        mathopt = _import_mathopt()
        type_name, solver_name = _solver_type(options)
        sf = compile_standard_form(instance)
        model = mathopt.Model.from_model_proto(model_proto(sf, name=instance.name or "mckp"))
        params = _parameters(mathopt, type_name, time_limit, options)
        try:
            result = mathopt.solve(
                model, getattr(mathopt.SolverType, type_name), params=params,
                # the solver log goes to stderr, never stdout (``--json`` prints only JSON there)
                msg_cb=_log_to_stderr if options.get("log") else None,
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
            return build_result(instance, solver=solver_name, assignment=None, bound=None,
                                status="error", message=f"MathOpt {type_name}: {cause}")
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
        if status == "infeasible":
            return build_result(instance, solver=solver_name, assignment=None, bound=None,
                                status="infeasible", detail=detail)
        if not result.has_primal_feasible_solution():
            final: Status = status if status in ("time_limit", "error") else "error"
            return build_result(
                instance, solver=solver_name, assignment=None, bound=bound, status=final,
                detail=detail,
                message="no feasible allocation found" if final == "time_limit" else "",
            )
        x = np.zeros(sf.n_cols)
        for var, val in result.variable_values().items():
            x[var.id] = val
        forced: Status | None = status if status in ("time_limit", "error") else None
        return build_result(instance, solver=solver_name, assignment=assignment_from_x(instance, x),
                            bound=bound, status=forced, detail=detail)
