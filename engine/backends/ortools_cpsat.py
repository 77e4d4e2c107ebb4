"""CP-SAT for instances whose data are integers, or become integers under a power-of-ten scale.

CP-SAT solves pure integer programs exactly, so every coefficient must be an integer. The values
(objective) get one scale 10^e and every budget its own (its costs; its limit is then floored,
which is exact because the scaled usage is an integer), the smallest e <= 6 under which every
entry is within 1e-12 of an integer. Data that need more digits are refused with a UsageError that
names the first offending entry: rounding them would change the problem silently.
"""

from __future__ import annotations

import itertools
import math
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from engine.backend import ISOLATE_ROWS, Capabilities
from engine.finalize import build_result
from engine.options import Options, positive
from engine.result import OPT_ABS_GAP, OPT_REL_GAP, SolveResult, Status
from formulations.assignment import target_limits
from formulations.errors import UsageError
from formulations.instance import Instance

#: largest power of ten tried when scaling data to integers
MAX_SCALE_EXPONENT = 6
#: an entry counts as an integer after scaling when within this of one (relative to max(1, |y|)):
#: float noise only (0.07 * 100 = 7.000000000000001), so rounding changes no usage beyond the
#: 1e-12 noise that "within budget" allows (formulations.assignment)
INTEGRAL_TOL = 1e-12
# beyond 2^53 float64 no longer holds every integer, so the scaled sums would not be exact
_MAX_SCALED_TOTAL = 2.0**53

# CP-SAT status name -> our status. Anything not listed is "error".
# FEASIBLE and UNKNOWN mean CP-SAT stopped before a proof; the only stop this backend sets is the
# time limit, so FEASIBLE (a solution) and UNKNOWN (none) both read as time_limit.
STATUS_MAP: dict[str, Status] = {
    "OPTIMAL": "optimal",
    "INFEASIBLE": "infeasible",
    "FEASIBLE": "time_limit",
    "UNKNOWN": "time_limit",
}


@dataclass(frozen=True)
class IntegerData:
    """The instance's coefficients as exact integers, and the scales that produced them."""

    value: np.ndarray
    """(R,) int64 scaled values."""
    value_scale: int
    costs: np.ndarray
    """(K, R) int64, budget k scaled by ``cost_scales[k]``."""
    cost_scales: tuple[int, ...]
    limits: tuple[int, ...]
    """per budget, floor(target * scale), the target of formulations.assignment.target_limits
    (the limit plus its 1e-12 noise allowance): an integer usage within it is within the budget,
    and one that spends exactly the limit stays within it whatever the noise of limit * scale."""
    capacities: tuple[tuple[int, int], ...]
    """(option code, floor(limit)) per capacity."""


def _describe_row(instance: Instance, r: int) -> str:
    unit = instance.unit_ids[instance.unit_of_row[r]]
    unit = unit.item() if isinstance(unit, np.generic) else unit
    option = instance.option_labels[instance.option_codes[r]]
    return f"unit {unit!r}, option {option!r} (table row {r})"


def power_of_ten_scale(values: np.ndarray) -> tuple[int, int]:
    """(scale, -1) with the smallest 10^e (e <= 6) making every entry integral; else (0, index of
    the first entry that stays non-integral at 10^6)."""
    finite = np.isfinite(values)
    if not finite.all():
        return 0, int(np.flatnonzero(~finite)[0])
    for e in range(MAX_SCALE_EXPONENT + 1):
        scaled = values * 10.0**e
        off = np.abs(scaled - np.round(scaled)) > INTEGRAL_TOL * np.maximum(1.0, np.abs(scaled))
        if not off.any():
            return 10**e, -1
    return 0, int(np.flatnonzero(off)[0])


def integer_data(instance: Instance) -> IntegerData:
    """Scale the instance to integers exactly, or raise UsageError naming the first bad entry."""
    hint = "; use solver 'highs' or 'ortools' for fractional data"
    scale, bad = power_of_ten_scale(instance.value)
    if not scale:
        raise UsageError(
            f"solver 'ortools-cpsat' needs integral data: value {float(instance.value[bad])!r} "
            f"of {_describe_row(instance, bad)} is not an integer after scaling by any power of "
            f"ten up to 10^{MAX_SCALE_EXPONENT}{hint}"
        )
    value = np.round(instance.value * scale)
    costs = np.zeros(instance.costs.shape)
    scales: list[int] = []
    limits: list[int] = []
    for k, budget in enumerate(instance.budgets):
        s, bad = power_of_ten_scale(instance.costs[k])
        if not s:
            raise UsageError(
                f"solver 'ortools-cpsat' needs integral data: budget {budget.name!r} cost "
                f"{float(instance.costs[k, bad])!r} of {_describe_row(instance, bad)} is not an "
                f"integer after scaling by any power of ten up to 10^{MAX_SCALE_EXPONENT}{hint}"
            )
        costs[k] = np.round(instance.costs[k] * s)
        if not math.isfinite(budget.limit):
            raise UsageError(f"budget {budget.name!r}: limit {budget.limit!r} is not finite")
        lim = float(target_limits(np.array([budget.limit]))[0]) * s
        scales.append(s)
        limits.append(math.floor(lim))
    totals = [np.abs(value).sum(), *np.abs(costs).sum(axis=1).tolist(), *map(abs, limits)]
    if max(totals, default=0.0) > _MAX_SCALED_TOTAL:
        raise UsageError(
            "solver 'ortools-cpsat': the scaled integer data sum to more than 2^53 and would "
            f"not stay exact{hint}"
        )
    caps = tuple((code, math.floor(lim)) for code, lim in instance.capacity_codes())
    return IntegerData(
        value=value.astype(np.int64), value_scale=scale, costs=costs.astype(np.int64),
        cost_scales=tuple(scales), limits=tuple(limits), capacities=caps,
    )


def _import_cp_model() -> Any:
    try:
        from ortools.sat.python import cp_model
    except ImportError as e:
        raise UsageError("solver 'ortools-cpsat' needs OR-Tools: pip install ortools") from e
    return cp_model


@dataclass(frozen=True)
class CpSatOptions(Options):
    """Options of ``ortools-cpsat``: ``workers`` (CP-SAT's num_workers; ``threads`` is the
    same), ``seed``, ``log`` (the search log on stderr), ``gap`` (relative, default 1e-9)."""

    workers: int | None = None
    threads: int | None = None
    seed: int | None = None
    log: bool = False
    gap: float = OPT_REL_GAP


class CpSatBackend:
    """Exact CP-SAT on integral (or exactly power-of-ten scalable) data.

    Options: ``workers`` (CP-SAT ``num_workers``; ``threads`` is read as the same),
    ``seed``, ``log`` (search log on stderr), ``gap`` (relative gap limit, default 1e-9).
    """

    name: ClassVar[str] = "ortools-cpsat"
    options_type: ClassVar[type[CpSatOptions]] = CpSatOptions
    capabilities: ClassVar[Capabilities] = Capabilities(integral_data_only=True,
                                                   isolate_above=ISOLATE_ROWS)

    def __init__(self) -> None:
        _import_cp_model()

    def solve(
        self, instance: Instance, *, time_limit: float | None, options: CpSatOptions
    ) -> SolveResult:
        positive(self.name, gap=options.gap, workers=options.workers, threads=options.threads)
        cp_model = _import_cp_model()
        data = integer_data(instance)
        model = cp_model.CpModel()
        # CP-SAT's Python API has no bulk builder: one call per variable (about 0.2 s per 50,000)
        x = [model.new_bool_var("") for _ in range(instance.n_rows)]
        offsets = instance.offsets.tolist()
        add_choice = model.add_exactly_one if instance.choose == "exactly-one" else (
            model.add_at_most_one
        )
        for start, stop in itertools.pairwise(offsets):
            add_choice(x[start:stop])
        for k in range(instance.n_budgets):
            nz = np.flatnonzero(data.costs[k])
            terms = cp_model.LinearExpr.weighted_sum([x[r] for r in nz.tolist()],
                                                     data.costs[k, nz].tolist())
            model.add(terms <= data.limits[k])
        for code, lim in data.capacities:
            rows = np.flatnonzero(instance.option_codes == code).tolist()
            model.add(cp_model.LinearExpr.sum([x[r] for r in rows]) <= lim)
        model.maximize(cp_model.LinearExpr.weighted_sum(x, data.value.tolist()))

        solver = cp_model.CpSolver()
        params = solver.parameters
        if time_limit is not None:
            params.max_time_in_seconds = float(time_limit)
        params.relative_gap_limit = options.gap
        params.absolute_gap_limit = OPT_ABS_GAP * data.value_scale
        workers = options.workers if options.workers is not None else options.threads
        if workers is not None:
            params.num_workers = workers
        if options.seed is not None:
            params.random_seed = options.seed
        if options.log:
            # keep stdout clean for --json: the log goes to stderr
            params.log_search_progress = True
            params.log_to_stdout = False
            solver.log_callback = lambda line: print(line, file=sys.stderr)
        code = solver.solve(model)
        native = solver.status_name(code)
        status = STATUS_MAP.get(native, "error")
        detail: dict[str, Any] = {
            "cpsat_status": native,
            "value_scale": data.value_scale,
            "cost_scales": list(data.cost_scales),
            "branches": int(solver.num_branches),
            "conflicts": int(solver.num_conflicts),
        }
        raw_bound = solver.best_objective_bound
        # with status UNKNOWN the response's bound field is left at its default (0), which is no
        # bound at all (seen on a 2,000-user instance stopped at 0.2 s), so it is not reported
        known = native in ("OPTIMAL", "FEASIBLE") and math.isfinite(raw_bound)
        bound = raw_bound / data.value_scale if known else None
        if status == "infeasible":
            return build_result(instance, solver=self.name, assignment=None, bound=None,
                                status="infeasible", detail=detail)
        if native not in ("OPTIMAL", "FEASIBLE"):
            final: Status = status if status in ("time_limit", "error") else "error"
            return build_result(
                instance, solver=self.name, assignment=None, bound=bound, status=final,
                detail=detail,
                message="no feasible allocation found" if final == "time_limit"
                else f"CP-SAT status {native}",
            )
        chosen = np.asarray(solver.response_proto.solution, dtype=np.int64)[: instance.n_rows] > 0
        assignment = _assignment_from_chosen(instance, chosen)
        forced: Status | None = status if status in ("time_limit", "error") else None
        return build_result(instance, solver=self.name, assignment=assignment, bound=bound,
                            status=forced, detail=detail)


def _assignment_from_chosen(instance: Instance, chosen: np.ndarray) -> np.ndarray:
    """Per unit, the local index of its chosen row; -1 where none is chosen."""
    a = np.full(instance.n_units, -1, dtype=np.int64)
    rows = np.flatnonzero(chosen)
    a[instance.unit_of_row[rows]] = instance.local_index[rows]
    return a
