"""What-if planning: solve one instance over a grid of budgets, optionally with rescaled options.

For every point of the sweep the table holds the integer value with its certified bound and gap,
the exact LP value (one budget: read off the LP frontier, the concave piecewise-linear value of
the relaxation as a function of the budget), the marginal value of one more unit of each budget
(lambda), the spend of each budget and the treatment mix (share of units per option).

The points are either fractions that scale every budget of the instance together
(:func:`scale_sweep`) or absolute limits of one budget (:func:`value_sweep`), or the budget
scenarios (:func:`scenario_sweep`); ``scaled_instance`` applies per-option cost and value factors
before the sweep. The engine takes typed values (the CLI parses ``START:STOP:COUNT`` and
``NAME=V1,...``: treatalloc/sweep_args.py); everything is validated before anything is solved,
so a bad input raises :class:`UsageError` and the caller writes nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from engine.frontier import Frontier
from engine.result import SolveResult
from engine.stopping import interrupted
from formulations.errors import UsageError
from formulations.instance import Instance

#: a sweep of more points than this is almost certainly a typo (and would take very long)
MAX_POINTS = 10_000
#: label of the implicit null option of ``at-most-one`` instances in the treatment mix
NONE_LABEL = "(none)"
#: ``--solver`` names that may be swept with the fast path of the dual engine
DUAL_SOLVERS = ("dual",)
PROB_TOL = 1e-9
#: the LP relaxation is solved with HiGHS per point only up to this many rows (where the exact LP
#: frontier of the dual engine does not apply); above it lp_value is NaN
LP_MAX_ROWS = 200_000


# --- the points --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sweep:
    """The points of a sweep: ``limits[p, k]`` is budget k's limit at point p.

    ``axis`` is what the plot puts on its x axis: the fraction (``kind == "scale"``) or the limit
    of the swept budget (``kind == "budget"``).
    """

    kind: Literal["scale", "budget"]
    limits: np.ndarray
    axis: np.ndarray
    budget_names: tuple[str, ...]
    budget: str | None = None
    probability: np.ndarray | None = None
    """(P,) where the points are the problem's budget scenarios (:func:`scenario_sweep`)."""

    @property
    def n_points(self) -> int:
        return int(self.limits.shape[0])

    def head(self, k: int) -> Sweep:
        """The first ``k`` points (what an interrupted sweep solved)."""
        return Sweep(self.kind, self.limits[:k], self.axis[:k], self.budget_names, self.budget,
                     None if self.probability is None else self.probability[:k])

    @property
    def axis_label(self) -> str:
        if self.kind == "scale":
            return "budget (fraction of the instance's limits)"
        return f"budget {self.budget!r} (limit)"


def budgets_of(problem: Any) -> tuple[tuple[str, ...], np.ndarray]:
    """(budget names, base limits) of an Instance or of a grouped (cluster) problem."""
    base = getattr(problem, "base_limits", None)
    if base is None:
        base = problem.limits
    return tuple(problem.budget_names), np.asarray(base, dtype=np.float64)


def scale_sweep(problem: Any, fractions: np.ndarray, *, what: str = "fractions") -> Sweep:
    """Every budget scaled together: limits[p] = fractions[p] * the problem's limits.

    ``problem`` is an Instance or a grouped (cluster) problem: anything with ``budget_names``
    and ``limits`` (or ``base_limits``). ``what`` names the fractions in error messages (the
    CLI passes its flag).
    """
    fractions = np.asarray(fractions, dtype=np.float64)
    budget_names, base = budgets_of(problem)
    if not budget_names:
        raise UsageError(f"{what}: the instance has no budget to scale")
    if np.any(fractions <= 0) or not np.all(np.isfinite(fractions)):
        raise UsageError(f"{what}: budget fractions must be finite and > 0")
    if np.any(base <= 0):
        names = [n for n, b in zip(budget_names, base, strict=True) if b <= 0]
        raise UsageError(
            f"{what}: cannot scale budget(s) {names} whose limit is <= 0; sweep absolute "
            "limits of one budget instead (value_sweep)"
        )
    return Sweep(
        kind="scale",
        limits=fractions[:, None] * base[None, :],
        axis=fractions,
        budget_names=budget_names,
    )


def value_sweep(problem: Any, name: str, values: np.ndarray, *, what: str = "budget") -> Sweep:
    """One budget at absolute limits; the others keep their limits."""
    names, base = budgets_of(problem)
    if name not in names:
        raise UsageError(f"{what}: unknown budget {name!r}; the instance has {list(names)}")
    values = np.asarray(values, dtype=np.float64)
    if np.any(values <= 0) or not np.all(np.isfinite(values)):
        raise UsageError(f"{what} {name}: limits must be finite and > 0")
    limits = np.repeat(base[None, :], values.size, axis=0)
    limits[:, names.index(name)] = values
    return Sweep(kind="budget", limits=limits, axis=values, budget_names=names, budget=name)


def scenario_sweep(problem: Any, scenarios: Sequence[Any], *, what: str = "scenarios") -> Sweep:
    """The points are the budget scenarios themselves (sorted by limit), with their probabilities.

    Only for scenarios that vary one budget (then the axis is that budget's limit); the expected
    value over the points is the per-scenario plan's (wait-and-see) value.
    """
    names, base = budgets_of(problem)
    if not scenarios:
        raise UsageError(f"{what}: the instance has no budget scenarios "
                         "(add [[scenarios]] or a budget distribution to its manifest)")
    check_scenarios(problem, scenarios)
    varied = sorted({n for s in scenarios for n in s.limits})
    unknown = sorted(set(varied) - set(names))
    if unknown:
        raise UsageError(
            f"{what}: unknown budget(s) {unknown}; the instance has {list(names)}"
        )
    if len(varied) != 1:
        raise UsageError(
            f"{what}: the scenarios vary {len(varied)} budgets {varied}; a sweep over them "
            "needs exactly one (sweep one budget at a time instead)"
        )
    name = varied[0]
    k = names.index(name)
    values = np.array([float(s.limits.get(name, base[k])) for s in scenarios])
    probs = np.array([float(s.probability) for s in scenarios])
    if np.any(values <= 0) or not np.all(np.isfinite(values)):
        raise UsageError(f"{what}: budget {name!r} has a scenario limit <= 0")
    order = np.argsort(values, kind="stable")
    limits = np.repeat(base[None, :], values.size, axis=0)
    limits[:, k] = values[order]
    return Sweep(kind="budget", limits=limits, axis=values[order], budget_names=names,
                 budget=name, probability=probs[order])


# --- rescaled options --------------------------------------------------------------------------
def option_factors(
    labels: Sequence[str], factors: Mapping[str, float] | None, what: str
) -> dict[int, float]:
    """``{label: factor}`` -> ``{option index: factor}``; unknown labels and bad factors raise."""
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted(set(factors or {}) - set(index))
    if unknown:
        raise UsageError(
            f"{what}: unknown option(s) {unknown}; the instance has options {list(labels)[:30]}"
        )
    out = {index[o]: float(f) for o, f in (factors or {}).items()}
    for f in out.values():
        if not (math.isfinite(f) and f >= 0):
            raise UsageError(f"{what}: factors must be finite and >= 0, got {f!r}")
    return out


def scaled_instance(
    instance: Instance,
    cost_scale: Mapping[str, float] | None = None,
    value_scale: Mapping[str, float] | None = None,
) -> Instance:
    """A copy where option o's cost in *every* budget is multiplied by ``cost_scale[o]`` and its
    value by ``value_scale[o]``, for every unit that has option o. Budgets, capacities and
    scenarios are unchanged. Factors must be finite and >= 0; unknown options are an error.
    """
    costs_f = option_factors(instance.option_labels, cost_scale, "cost_scale")
    value_f = option_factors(instance.option_labels, value_scale, "value_scale")
    if not costs_f and not value_f:
        return instance
    n_labels = len(instance.option_labels)
    cost_mult = np.ones(n_labels)
    value_mult = np.ones(n_labels)
    for code, f in costs_f.items():
        cost_mult[code] = f
    for code, f in value_f.items():
        value_mult[code] = f
    value = instance.value * value_mult[instance.option_codes]
    costs = instance.costs * cost_mult[instance.option_codes][None, :]
    return instance.replace(value=value, costs=costs)


def check_scenarios(instance: Any, scenarios: Sequence[Any] | None = None) -> None:
    """Scenario probabilities must be >= 0 and sum to 1 (files are checked on load too).

    ``scenarios`` defaults to ``instance.scenarios``; each has ``probability``.
    """
    if scenarios is None:
        scenarios = getattr(instance, "scenarios", ())
    if not scenarios:
        return
    name = getattr(instance, "name", "")
    probs = np.array([s.probability for s in scenarios], dtype=np.float64)
    if np.any(probs < 0) or not np.all(np.isfinite(probs)):
        raise UsageError(f"instance {name!r}: scenario probabilities must be finite and >= 0")
    total = float(probs.sum())
    if abs(total - 1.0) > PROB_TOL:
        raise UsageError(
            f"instance {name!r}: scenario probabilities must sum to 1 (within 1e-9), "
            f"they sum to {total!r}"
        )


# --- the LP frontier (one budget) ---------------------------------------------------------------
def lp_frontier(instance: Instance) -> Frontier | None:
    """The exact LP frontier of a one-budget instance from the dual engine's hull, or None.

    None where it does not apply (several budgets, capacities).
    """
    if instance.n_budgets != 1 or instance.capacities:
        return None
    from engine.dual import sweep as dual_sweep

    return dual_sweep.lp_frontier(instance)


# --- solving the points --------------------------------------------------------------------------
def solve_points(
    instance: Instance,
    sweep: Sweep,
    *,
    solver: str = "dual",
    time_limit: float | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[SolveResult]:
    """One SolveResult per point of ``sweep``.

    With ``solver="dual"`` the hull is built once and reused for every point
    (engine.dual.sweep.budget_sweep); any other solver is called once per point.
    """
    if sweep.limits.shape[1] != instance.n_budgets:
        raise UsageError(
            f"sweep: expected limits for {instance.n_budgets} budget(s), "
            f"got {sweep.limits.shape[1]}"
        )
    if solver in DUAL_SOLVERS:
        from engine.dual.sweep import budget_sweep

        limits = sweep.limits[:, 0] if instance.n_budgets == 1 else sweep.limits
        return list(budget_sweep(instance, limits, time_limit=time_limit, options=options))
    from engine.solve import solve

    opts = dict(options or {})
    out = []
    for row in sweep.limits:
        if interrupted():  # Ctrl-C / SIGTERM: the points solved so far
            break
        out.append(solve(instance.with_limits(row.tolist()), solver, time_limit=time_limit,
                         options=opts))
    return out


# --- the table ----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class WhatIf:
    """The outcome of a sweep: the table (one row per point) and what produced it."""

    instance_name: str
    sweep: Sweep
    table: pd.DataFrame
    results: tuple[Any, ...]
    frontier: Frontier | None
    option_labels: tuple[str, ...]
    solver: str
    seconds: float
    cost_scale: Mapping[str, float] = field(default_factory=dict)
    value_scale: Mapping[str, float] = field(default_factory=dict)
    n_units: int = 0
    notes: tuple[str, ...] = ()
    lambda_source: str = ""
    scenario_marks: tuple[tuple[float, float], ...] = ()

    @property
    def share_columns(self) -> list[str]:
        return [c for c in self.table.columns if c.startswith("share_")]

    @property
    def expected_value(self) -> float | None:
        """sum_s p_s value_s over scenario points (the per-scenario plans' value), else None."""
        p = self.sweep.probability
        if p is None:
            return None
        return float(np.dot(p, self.table["value"].to_numpy(dtype=float)))


def treatment_mix(instance: Instance, assignment: np.ndarray | None) -> dict[str, float]:
    """Share of units per option label (and ``(none)`` for at-most-one); NaN without allocation."""
    return MixCounter(instance)(assignment)


class MixCounter:
    """Counts the treatment mix of many assignments of one instance.

    Where every unit lists the same options in the same order (the usual dense layout), the mix
    is a bincount of the assignment itself; the row lookup is needed only for ragged layouts.
    """

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.labels = list(instance.option_labels)
        if instance.choose == "at-most-one":
            self.labels.append(NONE_LABEL)
        self.codes: np.ndarray | None = None
        n, m = instance.n_units, instance.max_options
        if n and instance.is_rectangular():
            grid = instance.option_codes.reshape(n, m)
            if bool(np.all(grid == grid[0])):
                self.codes = grid[0].astype(np.int64)

    def __call__(self, assignment: np.ndarray | None) -> dict[str, float]:
        inst = self.instance
        if assignment is None or inst.n_units == 0:
            return {lab: float("nan") for lab in self.labels}
        a = np.asarray(assignment, dtype=np.int64)
        n_codes = len(inst.option_labels)
        if self.codes is not None:
            local = np.bincount(a + 1, minlength=self.codes.size + 1).astype(np.float64)
            counts = np.zeros(n_codes)
            np.add.at(counts, self.codes, local[1:])
            none = local[0]
        else:
            picked = a >= 0
            rows = inst.offsets[:-1][picked] + a[picked]
            counts = np.bincount(inst.option_codes[rows], minlength=n_codes).astype(np.float64)
            none = float(inst.n_units - picked.sum())
        if inst.choose == "at-most-one":
            counts = np.append(counts, none)
        shares = counts / inst.n_units
        return dict(zip(self.labels, shares.tolist(), strict=True))


def whatif(
    instance: Instance,
    sweep: Sweep,
    *,
    solver: str = "dual",
    time_limit: float | None = None,
    options: Mapping[str, Any] | None = None,
    cost_scale: Mapping[str, float] | None = None,
    value_scale: Mapping[str, float] | None = None,
    curve: bool = True,
) -> WhatIf:
    """Rescale the options, solve every point of ``sweep`` and tabulate the plan.

    Columns: ``point``, ``scale`` (fraction sweeps), ``limit_<budget>``, ``status``, ``value``
    (integer objective), ``bound`` (certified upper bound), ``gap`` (relative, as in SolveResult),
    ``lp_value`` (exact LP frontier; one budget without capacities, else NaN),
    ``lambda_<budget>``, ``spend_<budget>``, ``share_<option>``, ``seconds``.

    lambda: for one budget without capacities it is the right derivative of the exact LP frontier
    at the limit (the value of one more unit of budget), read from the dual sweep's own global
    order where it reports it (``detail["lp_value"]``, ``detail["lambda"]``), else from the
    frontier; otherwise the solver's multipliers
    (the dual engine's) where it reports them, else the LP relaxation's shadow prices from HiGHS
    (up to ``LP_MAX_ROWS`` rows), else NaN. ``lp_value`` likewise comes from the frontier or from
    HiGHS' LP relaxation. ``curve``: also compute the whole frontier (one more sort of the hull
    increments) for the plot; without it the frontier is computed only where the results do not
    carry the LP value themselves.
    """
    check_scenarios(instance)
    inst = scaled_instance(instance, cost_scale, value_scale)
    start = time.perf_counter()
    results = solve_points(inst, sweep, solver=solver, time_limit=time_limit, options=options)
    if len(results) != sweep.n_points:
        if not interrupted():
            raise RuntimeError(f"sweep returned {len(results)} results for {sweep.n_points} "
                               "points")
        sweep = sweep.head(len(results))
    one_budget = inst.n_budgets == 1 and not inst.capacities
    own_lp = one_budget and all(
        "lp_value" in r.detail and "lambda" in r.detail for r in results
    )
    frontier = lp_frontier(inst) if one_budget and (curve or not own_lp) else None
    notes: list[str] = []
    if own_lp:
        lp = np.array([_num(r.detail["lp_value"]) for r in results])
        lp = np.where(np.array([r.status == "infeasible" for r in results]), np.nan, lp)
        lam = {inst.budget_names[0]: np.array([_num(r.detail["lambda"]) for r in results])}
        lambda_source = "exact LP frontier (the dual sweep's global order)"
    else:
        lp, lam, lambda_source = _lp_columns(inst, sweep, results, frontier)
    counter = MixCounter(inst)
    rows = [point_row(inst, r, counter) for r in results]
    seconds = time.perf_counter() - start
    if frontier is None and inst.n_rows > LP_MAX_ROWS:
        notes.append(f"lp_value not computed: more than {LP_MAX_ROWS:,} rows for a HiGHS LP")
    return WhatIf(
        instance_name=instance.name,
        sweep=sweep,
        table=table(sweep, rows, lp, lam),
        results=tuple(results),
        frontier=frontier,
        option_labels=tuple(inst.option_labels),
        solver=solver,
        seconds=seconds,
        cost_scale=dict(cost_scale or {}),
        value_scale=dict(value_scale or {}),
        n_units=inst.n_units,
        notes=tuple(notes),
        lambda_source=lambda_source,
        scenario_marks=scenario_marks(instance, instance.scenarios, sweep),
    )


def scenario_marks(
    problem: Any, scenarios: Sequence[Any], sweep: Sweep
) -> tuple[tuple[float, float], ...]:
    """(x on the sweep's axis, probability) of each budget scenario, where the scenario lies on
    the axis: the swept budget's limit in a ``budget`` sweep; the fraction of the base limit in a
    ``scale`` sweep of a one-budget problem. Empty otherwise. Each scenario has ``probability``
    and ``limits`` (a mapping budget name -> limit; budgets not named keep their base limit).
    """
    names, base_limits = budgets_of(problem)
    base = dict(zip(names, base_limits.tolist(), strict=True))
    marks: list[tuple[float, float]] = []
    for s in scenarios:
        if sweep.kind == "budget" and sweep.budget is not None:
            x = float(s.limits.get(sweep.budget, base[sweep.budget]))
        elif sweep.kind == "scale" and len(names) == 1:
            x = float(s.limits.get(names[0], base[names[0]])) / base[names[0]]
        else:
            return ()
        marks.append((x, float(s.probability)))
    return tuple(marks)


def _num(x: float | None) -> float:
    return float("nan") if x is None else float(x)


def lp_relaxation(instance: Instance) -> tuple[float, dict[str, float]] | None:
    """The LP relaxation's value and budget shadow prices (HiGHS), or None if it is infeasible.

    The exact reference for the marginal value of budget where the LP frontier does not apply
    (several budgets, capacities); a dual of a degenerate LP is one valid subgradient.
    """
    from engine.backends.highs import solve_lp_relaxation

    lp = solve_lp_relaxation(instance)
    if lp.status != "optimal" or lp.bound is None or lp.row_dual is None:
        return None
    sf = lp.standard_form
    duals = {}
    for kind, (lo, _hi) in sf.row_blocks.items():
        if kind.startswith("budget:"):
            # HiGHS reports a maximisation's <= row duals as >= 0: value per unit of limit
            duals[kind.removeprefix("budget:")] = max(0.0, float(lp.row_dual[lo]))
    return lp.bound, duals


def _lp_columns(
    inst: Instance, sweep: Sweep, results: Sequence[SolveResult], frontier: Frontier | None
) -> tuple[np.ndarray, dict[str, np.ndarray], str]:
    """lp_value per point, lambda per budget per point, and where lambda came from."""
    names = inst.budget_names
    p = sweep.n_points
    if frontier is not None:
        b = sweep.limits[:, 0]
        return frontier.value_at(b), {names[0]: frontier.slope_at(b)}, "exact LP frontier"
    lp = np.full(p, np.nan)
    lam = {n: np.array([_num(r.multipliers.get(n)) for r in results]) for n in names}
    source = "solver multipliers"
    if inst.n_rows <= LP_MAX_ROWS:
        missing = not all(np.isfinite(v).all() for v in lam.values())
        for i, row in enumerate(sweep.limits):
            relaxed = lp_relaxation(inst.with_limits(row.tolist()))
            if relaxed is None:
                continue
            lp[i] = relaxed[0]
            if missing:
                for n in names:
                    lam[n][i] = relaxed[1][n]
        if missing:
            source = "LP relaxation duals (HiGHS)"
    return lp, lam, source


@dataclass(frozen=True)
class PointRow:
    """What the table needs from one point, whatever solved it (an MCKP or a cluster program)."""

    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    usage: Mapping[str, float]
    mix: Mapping[str, float]
    seconds: float
    has_allocation: bool


def point_row(instance: Instance, r: SolveResult, mix: MixCounter | None = None) -> PointRow:
    mix = mix or MixCounter(instance)
    return PointRow(r.status, r.objective, r.bound, r.gap, dict(r.usage),
                    mix(r.assignment), r.seconds, r.assignment is not None)


def table(
    sweep: Sweep,
    rows: Sequence[PointRow],
    lp: np.ndarray,
    lam: Mapping[str, np.ndarray],
) -> pd.DataFrame:
    """The what-if table (columns as documented in :func:`whatif`)."""
    names = sweep.budget_names
    cols: dict[str, Any] = {"point": np.arange(1, sweep.n_points + 1)}
    if sweep.kind == "scale":
        cols["scale"] = sweep.axis
    for k, name in enumerate(names):
        cols[f"limit_{name}"] = sweep.limits[:, k]
    if sweep.probability is not None:
        cols["probability"] = sweep.probability
    cols["status"] = [r.status for r in rows]
    cols["value"] = [_num(r.objective) for r in rows]
    cols["bound"] = [_num(r.bound) for r in rows]
    cols["gap"] = [_num(r.gap) for r in rows]
    cols["lp_value"] = lp
    for name in names:
        cols[f"lambda_{name}"] = lam.get(name, np.full(sweep.n_points, np.nan))
    for name in names:
        cols[f"spend_{name}"] = [
            _num(r.usage.get(name)) if r.has_allocation else float("nan") for r in rows
        ]
    for label in rows[0].mix if rows else ():
        cols[f"share_{label}"] = [r.mix.get(label, float("nan")) for r in rows]
    cols["seconds"] = [r.seconds for r in rows]
    return pd.DataFrame(cols)
