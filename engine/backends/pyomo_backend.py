"""Any installed pyomo solver on the explicit pyomo model (formulations.pyomo_model).

The default is HiGHS through pyomo's APPSI interface (``appsi_highs``). This backend exists to
show the readable model solving and to reach solvers that only pyomo speaks to (CBC, GLPK,
Gurobi, CPLEX, SCIP, ...); for speed use ``highs``, which skips pyomo entirely.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from engine.backend import MIP_MAX_COEFFICIENT, Capabilities
from engine.backends.highs import MIP_FEASIBILITY_TOL
from engine.backends.tolerances import budget_rows_for
from engine.finalize import build_result
from engine.options import Options, positive
from engine.result import OPT_ABS_GAP, OPT_REL_GAP, SolveResult, Status
from formulations.errors import UsageError
from formulations.instance import Instance
from formulations.pyomo_model import build_pyomo_model, x_values
from formulations.standard_form import assignment_from_x

DEFAULT_SOLVER = "appsi_highs"
#: tried, in order, when no solver is named and the default is not available
FALLBACK_SOLVERS = ("appsi_highs", "highs")

# pyomo TerminationCondition name -> our status. Anything not listed is "error".
# Every x is a bounded binary, so the program cannot be unbounded: "infeasible or unbounded"
# (HiGHS presolve says so) can only mean infeasible.
STATUS_MAP: dict[str, Status] = {
    "optimal": "optimal",
    "globallyOptimal": "optimal",
    "feasible": "feasible",
    "infeasible": "infeasible",
    "infeasibleOrUnbounded": "infeasible",
    "maxTimeLimit": "time_limit",
    "maxIterations": "time_limit",
    "maxEvaluations": "time_limit",
    "userInterrupt": "time_limit",
}

# Per solver family, the native names of (relative MIP gap, absolute MIP gap, time limit), and
# any extra options. A solver not listed runs with its own defaults: no time limit is passed
# and an "optimal" from it is trusted only as far as its reported bound proves (see solve()).
SolverOptionNames = tuple[str, str, str, dict[str, Any]]
OPTION_NAMES: dict[str, SolverOptionNames] = {
    # HiGHS' default primal feasibility (1e-7) lets rounded x overspend a budget by more than
    # the project's 1e-9, so tighten it (and the integrality tolerance) as the highs backend does
    "appsi_highs": ("mip_rel_gap", "mip_abs_gap", "time_limit",
                    {"mip_feasibility_tolerance": MIP_FEASIBILITY_TOL,
                     "primal_feasibility_tolerance": 1e-9}),
    "highs": ("mip_rel_gap", "mip_abs_gap", "time_limit",
              {"mip_feasibility_tolerance": MIP_FEASIBILITY_TOL,
               "primal_feasibility_tolerance": 1e-9}),
    "cbc": ("ratioGap", "allowableGap", "seconds", {}),
    "appsi_cbc": ("ratioGap", "allowableGap", "seconds", {}),
    "glpk": ("mipgap", "", "tmlim", {}),
    "gurobi": ("MIPGap", "MIPGapAbs", "TimeLimit", {"FeasibilityTol": 1e-9}),
    "gurobi_direct": ("MIPGap", "MIPGapAbs", "TimeLimit", {"FeasibilityTol": 1e-9}),
    "gurobi_persistent": ("MIPGap", "MIPGapAbs", "TimeLimit", {"FeasibilityTol": 1e-9}),
    "appsi_gurobi": ("MIPGap", "MIPGapAbs", "TimeLimit", {"FeasibilityTol": 1e-9}),
    "cplex": ("mipgap", "mip_tolerances_absmipgap", "timelimit", {}),
    "cplex_direct": ("mipgap", "mip_tolerances_absmipgap", "timelimit", {}),
    "scip": ("limits/gap", "limits/absgap", "limits/time", {"numerics/feastol": 1e-9}),
}

#: per solver, the row feasibility tolerance set above, (absolute, relative), which the budget
#: rows are scaled against (engine.backends.tolerances). Other solvers get the targets, and the
#: engine's re-check repairs what their tolerance overspends.
FEASIBILITY: dict[str, tuple[float, float]] = {
    "appsi_highs": (MIP_FEASIBILITY_TOL, 0.0),
    "highs": (MIP_FEASIBILITY_TOL, 0.0),
    "gurobi": (1e-9, 0.0),
    "gurobi_direct": (1e-9, 0.0),
    "gurobi_persistent": (1e-9, 0.0),
    "appsi_gurobi": (1e-9, 0.0),
    "scip": (0.0, 1e-9),
}

INSTALL_HINTS: dict[str, str] = {
    "appsi_highs": "pip install highspy",
    "highs": "pip install highspy",
    "cbc": "install the CBC executable (apt-get install coinor-cbc, or conda install coin-or-cbc)",
    "glpk": "install the glpsol executable (apt-get install glpk-utils)",
    "gurobi": "pip install gurobipy (and a Gurobi licence)",
    "cplex": "pip install cplex (and a CPLEX licence)",
    "scip": "install SCIP with its AMPL interface (scipampl), e.g. conda install scip",
}


@contextmanager
def _quiet_pyomo() -> Iterator[None]:
    """pyomo logs warnings (e.g. on loading an aborted run's incumbent) that are statuses here."""
    logger = logging.getLogger("pyomo")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _install_hint(name: str) -> str:
    for key, hint in INSTALL_HINTS.items():
        if name == key or name.startswith(key + "_") or name.endswith("_" + key):
            return hint
    return "install the solver and check that pyomo finds it (pyomo help --solvers)"


def _available(name: str) -> bool:
    import pyomo.environ as pyo

    with _quiet_pyomo():
        try:
            return bool(pyo.SolverFactory(name).available(exception_flag=False))
        except Exception:  # an unknown or broken plug-in: not available, whatever it raised
            return False


def resolve_solver(name: str | None) -> str:
    """The pyomo solver to use; raises UsageError (with an install hint) if it is not installed."""
    try:
        import pyomo.environ  # noqa: F401
    except ImportError as e:
        raise UsageError("solver 'pyomo' needs pyomo: pip install pyomo") from e
    if name is None:
        for candidate in FALLBACK_SOLVERS:
            if _available(candidate):
                return candidate
        raise UsageError(
            f"solver 'pyomo': none of the default pyomo solvers {list(FALLBACK_SOLVERS)} is "
            f"available; {INSTALL_HINTS['highs']}, or name another with option pyomo_solver"
        )
    if not _available(name):
        raise UsageError(
            f"solver 'pyomo': the pyomo solver {name!r} (option pyomo_solver) is not available; "
            f"{_install_hint(name)}"
        )
    return name


def _number(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class PyomoOptions(Options):
    """Options of the ``pyomo`` backend: ``pyomo_solver`` (a pyomo SolverFactory name),
    ``solver_options`` (a mapping passed to that solver verbatim, after ours), ``gap``
    (relative MIP gap, default 1e-9), ``log`` (the solver's output)."""

    pyomo_solver: str | None = None
    solver_options: Any = None
    gap: float = OPT_REL_GAP
    log: bool = False


class PyomoBackend:
    """Exact MIP via pyomo: the explicit model handed to ``pyomo_solver`` (default appsi_highs).

    Options: ``pyomo_solver`` (a pyomo SolverFactory name), ``solver_options`` (a mapping passed
    to that solver verbatim, after ours), ``gap``, ``log``.
    """

    name: ClassVar[str] = "pyomo"
    options_type: ClassVar[type[PyomoOptions]] = PyomoOptions
    capabilities: ClassVar[Capabilities] = Capabilities(max_coefficient=MIP_MAX_COEFFICIENT,
                                                        isolate_above=0)

    def __init__(self, pyomo_solver: str | None = None) -> None:
        # a named solver is checked now; the default only once a solve needs it (importing
        # pyomo and probing its solvers takes about a second: engine.solve constructs the
        # backend before a time limit's clock has much left)
        if importlib.util.find_spec("pyomo") is None:
            raise UsageError("solver 'pyomo' needs pyomo: pip install pyomo")
        self.pyomo_solver = None if pyomo_solver is None else resolve_solver(pyomo_solver)

    def solve(
        self, instance: Instance, *, time_limit: float | None, options: PyomoOptions
    ) -> SolveResult:
        import pyomo.environ as pyo

        from engine.backends.highs import _import_highspy

        _import_highspy()  # HiGHS' banner silenced before pyomo's HiGHS interface makes one
        positive(self.name, gap=options.gap)
        if options.solver_options is not None and not isinstance(options.solver_options,
                                                                   Mapping):
            raise UsageError(f"solver 'pyomo': option 'solver_options': expected a mapping of "
                             f"option names to values, got {options.solver_options!r}")
        chosen = options.pyomo_solver
        solver_name = resolve_solver(str(chosen) if chosen else self.pyomo_solver)
        reported = f"pyomo-{solver_name}"

        start = time.perf_counter()
        abs_tol, rel_tol = FEASIBILITY.get(solver_name, (0.0, 0.0))
        largest = np.abs(instance.costs).max(axis=1, initial=0.0)
        rows = budget_rows_for(instance.limits, abs_tol=abs_tol, rel_tol=rel_tol,
                               largest=largest)
        given = instance.replace(costs=instance.costs * rows.factor[:, None]).with_limits(
            rows.limit.tolist())
        model = build_pyomo_model(given)
        build_seconds = time.perf_counter() - start

        opt = pyo.SolverFactory(solver_name)
        names = OPTION_NAMES.get(solver_name)
        gap = options.gap
        if names is not None:
            rel, abs_, limit, extra = names
            opt.options[rel] = gap
            if abs_:
                opt.options[abs_] = OPT_ABS_GAP
            if time_limit is not None:
                # GLPK's tmlim is whole seconds
                opt.options[limit] = (max(1, math.ceil(time_limit)) if solver_name == "glpk"
                                      else float(time_limit))
            for key, value in extra.items():
                opt.options[key] = value
        for key, value in dict(options.solver_options or {}).items():
            opt.options[key] = value

        start = time.perf_counter()
        with _quiet_pyomo():
            results = opt.solve(model, load_solutions=False, tee=options.log)
        solve_seconds = time.perf_counter() - start

        native = str(getattr(results.solver.termination_condition, "name",
                             results.solver.termination_condition))
        status = STATUS_MAP.get(native, "error")
        detail: dict[str, Any] = {
            "pyomo_solver": solver_name,
            "pyomo_termination": native,
            "build_seconds": build_seconds,
            "solve_seconds": solve_seconds,
        }
        if names is None:
            detail["note"] = (f"no known option names for {solver_name!r}: ran with its own gap "
                              "and without the time limit")
        # for a maximisation pyomo's legacy results put the proven (dual) bound in upper_bound
        bound = _number(results.problem.upper_bound)
        if status == "infeasible":
            return build_result(instance, solver=reported, assignment=None, bound=None,
                                status="infeasible", detail=detail)
        if len(results.solution) == 0:
            final: Status = status if status in ("time_limit", "error") else "error"
            return build_result(
                instance, solver=reported, assignment=None, bound=bound, status=final,
                detail=detail,
                message="no feasible allocation found" if final == "time_limit"
                else f"pyomo termination {native}",
            )
        with _quiet_pyomo():
            model.solutions.load_from(results)
        assignment = assignment_from_x(instance, np.nan_to_num(x_values(instance, model)))
        # No bound reported, no proof: the status is then "feasible" (the solver's own word
        # "optimal" is not enough, solver_options may have changed the gap it stopped at).
        forced: Status | None = status if status in ("time_limit", "error") else None
        return build_result(instance, solver=reported, assignment=assignment, bound=bound,
                            status=forced, detail=detail)
