"""Several budgets and capacities: maximise the Lagrangian dual over lam in R^R_+ by a level
bundle method, then repair the Lagrangian choice to strict feasibility and fill.

The dual function (to be *minimised*) is

    f(lam) = lam . L + sum_i max_j (v_ij - lam . c_ij),     lam >= 0,

convex and piecewise linear; every lam gives a valid upper bound f(lam) on the optimum (weak
duality), and ``L - spend(choice(lam))`` is a subgradient. Since every unit's subproblem has the
integrality property, min f equals the LP relaxation's value.

Method (said here because the issue asks which): the **level bundle method** of Lemaréchal,
Nemirovskii & Nesterov (Math. Programming 69, 1995). Cuts f(lam_t) + g_t . (lam - lam_t) from
every evaluation form a model; its minimum over a box is a lower estimate f_low of min f (an LP,
solved with HiGHS through scipy); the next point is the projection of the best point so far onto
the level set {model <= f_low + 0.3 (f_up - f_low)} (a small QP, scipy SLSQP). The start point
comes from one exact coordinate step per row (each row alone is a one-budget LP, solved exactly
through the hulls), as in the synchronous coordinate descent of Zhang et al. (WWW 2020); above
2 x START_UNITS units, on a regular sample of about START_UNITS of them, limits scaled. K is
small (budgets + capacities), so the master problems cost milliseconds; every iteration costs
one vectorised pass over the data. The primal side: the Lagrangian choice at the best lam,
repaired with engine.dual.improve.repair (weights = multipliers), then filled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from engine.dual.arrays import DualArrays
from engine.dual.compact import compact_hull, select_compact
from engine.dual.improve import fill
from engine.dual.kernels import lagrangian_choice, upper_hulls
from engine.dual.select import select_critical
from engine.stopping import interrupted


@dataclass(frozen=True, eq=False)
class MultiSolution:
    """Best allocation (dense columns, feasible) and best dual bound found."""

    feasible: bool
    cols: Any
    """the allocation (dense columns in memory; the oracle's own kind otherwise), or None"""
    objective: float | None
    bound: float
    lam: np.ndarray
    iterations: int
    timings: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


#: the start multipliers come from about this many units (every ``start_stride``-th one):
#: a start needs the multipliers' scale, not their last digit, and at 10^6 x 8 x 3 rows the
#: exact ones on every unit took a third of the bundle's time. Below twice this, every unit.
START_UNITS = 100_000


def start_stride(n_units: int) -> int:
    """Every how many units the start sample takes one (1: all of them)."""
    return max(1, n_units // START_UNITS)


def start_sample(arr: DualArrays, stride: int) -> DualArrays:
    """Units 0, stride, 2 stride, ... of ``arr`` with the limits scaled to their share. The
    Dask oracle gathers the same units from its partitions and must build the same arrays:
    contiguous copies, ``valid`` None where every sampled cell is usable."""
    valid = None if arr.valid is None else np.ascontiguousarray(arr.valid[::stride])
    return sample_arrays(
        np.ascontiguousarray(arr.value[::stride]), np.ascontiguousarray(arr.costs[:, ::stride]),
        valid, arr.n_units, limits=arr.limits, row_names=arr.row_names,
        n_budgets=arr.n_budgets, null_column=arr.null_column)


def sample_arrays(
    value: np.ndarray, costs: np.ndarray, valid: np.ndarray | None, n_units: int, *,
    limits: np.ndarray, row_names: tuple[str, ...], n_budgets: int, null_column: int | None,
) -> DualArrays:
    """The start sample's arrays, its rows taken out of ``n_units`` units: the ``limits``
    scaled to the sample's share."""
    return DualArrays(
        value=value, costs=costs, valid=None if valid is None or bool(valid.all()) else valid,
        limits=limits * (value.shape[0] / n_units), row_names=row_names, n_budgets=n_budgets,
        null_column=null_column,
    )


def row_alone_multipliers(arr: DualArrays) -> np.ndarray:
    """(R,) every row's exact multiplier when it is the only row of ``arr``."""
    return np.array([_row_alone_multiplier(arr, k, arr.value) for k in range(arr.n_rows)])


def _row_alone_multiplier(arr: DualArrays, k: int, value: np.ndarray) -> float:
    """The exact optimal multiplier of row k when it is the only row (values ``value``)."""
    compact = compact_hull(value, arr.costs[k], arr.valid)
    if compact is not None:
        # the multiplier only: the compact hull's selection gives the same one
        res = float(arr.limits[k]) - float(compact.start_cost.sum())
        found = select_compact(compact, res) if res >= 0 else None
        if found is not None:
            return found[0].lam
    h = upper_hulls(value, arr.costs[k], arr.valid)
    base = float(h.start_cost.sum())
    res = float(arr.limits[k]) - base
    if res < 0:
        return float(np.max(h.efficiency, initial=0.0)) * 2.0 + 1.0
    return select_critical(h.efficiency, h.d_cost, h.d_value, res).lam


class BundleOracle(Protocol):
    """What the level bundle needs of the data: the in-memory arrays (``solve_multi``) or the
    partitions of a Dask cluster (engine.distributed.dask_multi). ``Cols`` is whatever holds
    an allocation (dense columns here; per-partition futures there)."""

    @property
    def n_rows(self) -> int: ...

    @property
    def limits(self) -> np.ndarray: ...

    def evaluate(self, lam: np.ndarray) -> tuple[float, np.ndarray, Any]:
        """f(lam), the subgradient ``limits - spend`` and the Lagrangian choice."""

    def row_alone(self) -> np.ndarray:
        """(R,) every row's exact multiplier when it is the only row, on the start sample
        (:func:`start_sample` with :func:`start_stride`)."""

    def primal(self, cols: Any, lam: np.ndarray, fill_rounds: int) -> tuple[Any, float] | None:
        """``cols`` repaired (and filled): (allocation, objective), or None when infeasible."""


@dataclass(frozen=True, eq=False)
class ArraysOracle:
    """The in-memory oracle: one vectorised pass over ``arr`` per evaluation."""

    arr: DualArrays
    repair_fn: Callable[[np.ndarray, np.ndarray], np.ndarray]

    @property
    def n_rows(self) -> int:
        return self.arr.n_rows

    @property
    def limits(self) -> np.ndarray:
        return self.arr.limits

    def evaluate(self, lam: np.ndarray) -> tuple[float, np.ndarray, Any]:
        ch = lagrangian_choice(self.arr.value, self.arr.costs, lam)
        return float(lam @ self.limits + ch.lagrangian), self.limits - ch.spend, ch.index

    def row_alone(self) -> np.ndarray:
        stride = start_stride(self.arr.n_units)
        return row_alone_multipliers(
            self.arr if stride == 1 else start_sample(self.arr, stride))

    def primal(self, cols: Any, lam: np.ndarray, fill_rounds: int) -> tuple[Any, float] | None:
        arr = self.arr
        c = self.repair_fn(cols, lam)
        slack = arr.limits - arr.usage(c)
        if not np.all(slack >= 0):
            return None
        if fill_rounds > 0:
            c = fill(arr, c, weights=lam, max_rounds=fill_rounds)
        return c, arr.objective(c)


def solve_multi(
    arr: DualArrays,
    *,
    repair_fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
    time_limit: float | None = None,
    max_iter: int = 200,
    tol: float = 1e-6,
    lam0: np.ndarray | None = None,
    primal_every: int = 5,
    fill_rounds: int = 10,
    on_iteration: Callable[[int, float, float | None], None] | None = None,
) -> MultiSolution:
    """Level bundle on the dual, with a repaired primal every ``primal_every`` improvements.

    ``repair_fn(cols, lam) -> cols`` makes a dense allocation feasible (the backend passes
    engine.dual.improve.repair). Stops when (bound - objective) / max(1, |bound|) <= tol, when the
    dual model's own gap is below tol / 10, after ``max_iter`` evaluations or at ``time_limit``.
    """
    return level_bundle(
        ArraysOracle(arr, repair_fn), time_limit=time_limit, max_iter=max_iter, tol=tol,
        lam0=lam0, primal_every=primal_every, fill_rounds=fill_rounds,
        on_iteration=on_iteration,
    )


def level_bundle(
    oracle: BundleOracle,
    *,
    time_limit: float | None = None,
    max_iter: int = 200,
    tol: float = 1e-6,
    lam0: np.ndarray | None = None,
    primal_every: int = 5,
    fill_rounds: int = 10,
    on_iteration: Callable[[int, float, float | None], None] | None = None,
) -> MultiSolution:
    """The level bundle of :func:`solve_multi` over any :class:`BundleOracle`: the same
    points, in the same order, for an oracle that returns the same numbers."""
    start_time = time.perf_counter()
    deadline = None if time_limit is None else start_time + time_limit
    r = oracle.n_rows
    timings = {"dual": 0.0, "master": 0.0, "primal": 0.0, "start": 0.0}

    def evaluate(lam: np.ndarray) -> tuple[float, np.ndarray, Any]:
        t = time.perf_counter()
        out = oracle.evaluate(lam)
        timings["dual"] += time.perf_counter() - t
        return out

    # start: each row's own exact multiplier, scaled; keep the best of a few
    t = time.perf_counter()
    if lam0 is None:
        alone = oracle.row_alone()
    else:
        alone = np.maximum(np.asarray(lam0, dtype=np.float64), 0.0)
    timings["start"] = time.perf_counter() - t
    upper = np.maximum(4.0 * alone, max(float(alone.max(initial=0.0)), 1e-6))
    lams, fs, gs = [], [], []
    best_f, best_lam, best_cols = np.inf, np.zeros(r), None
    for cand in ([alone, alone / max(r, 1), np.zeros(r)] if lam0 is None else [alone]):
        f, g, cols = evaluate(cand)
        lams.append(cand.copy())
        fs.append(f)
        gs.append(g)
        if f < best_f:
            best_f, best_lam, best_cols = f, cand.copy(), cols
    best_obj: float | None = None
    best_primal: Any = None
    primal_lam = None
    f_low = -np.inf
    it = len(fs)
    since_primal = primal_every  # the first primal as soon as the dual is ready

    def primal(cols: Any, lam: np.ndarray) -> None:
        nonlocal best_obj, best_primal
        t0 = time.perf_counter()
        got = oracle.primal(cols, lam, fill_rounds)
        if got is not None:
            c, obj = got
            if best_obj is None or obj > best_obj:
                best_obj, best_primal = obj, c
        timings["primal"] += time.perf_counter() - t0

    def gap() -> float:
        if best_obj is None:
            return np.inf
        return (best_f - best_obj) / max(1.0, abs(best_f))

    while True:
        model_gap = (best_f - f_low) / max(1.0, abs(best_f))
        late = deadline is not None and time.perf_counter() >= start_time + 0.6 * (
            deadline - start_time)
        # a primal costs a repair and a fill: only worth it once the dual is nearly settled
        ready = model_gap <= max(10.0 * tol, 1e-4) or late or it >= max_iter
        if ready and since_primal >= primal_every and primal_lam is not best_lam:
            assert best_cols is not None
            primal(best_cols, best_lam)
            primal_lam = best_lam
            since_primal = 0
        if on_iteration is not None:
            on_iteration(it, best_f, best_obj)
        if gap() <= tol or it >= max_iter:
            break
        if interrupted() or (deadline is not None and time.perf_counter() >= deadline):
            break
        t = time.perf_counter()
        low, lam_low = _model_minimum(np.array(lams), np.array(fs), np.array(gs), upper)
        f_low = max(f_low, low)
        if best_f - f_low <= 0.1 * tol * max(1.0, abs(best_f)):
            timings["master"] += time.perf_counter() - t
            break
        level = f_low + 0.3 * (best_f - f_low)
        lam = _project(best_lam, np.array(lams), np.array(fs), np.array(gs), level, upper, lam_low)
        timings["master"] += time.perf_counter() - t
        # a point on the box face: the box may be too small, widen it (model bounds restart)
        hit = lam >= upper * (1 - 1e-9)
        if hit.any():
            upper = np.where(hit, upper * 4.0, upper)
            f_low = -np.inf
        f, g, cols = evaluate(lam)
        it += 1
        lams.append(lam)
        fs.append(f)
        gs.append(g)
        if f < best_f:
            best_f, best_lam, best_cols = f, lam, cols
            since_primal += 1
    if best_cols is not None and primal_lam is not best_lam:
        primal(best_cols, best_lam)
    timings["total"] = time.perf_counter() - start_time
    return MultiSolution(
        feasible=best_primal is not None, cols=best_primal, objective=best_obj, bound=best_f,
        lam=best_lam, iterations=it, timings=timings,
        info={"f_low": f_low if np.isfinite(f_low) else None, "method": "level-bundle"},
    )


def _model_minimum(
    lams: np.ndarray, fs: np.ndarray, gs: np.ndarray, upper: np.ndarray
) -> tuple[float, np.ndarray]:
    """min over 0 <= lam <= upper of max_t f_t + g_t . (lam - lam_t) (an LP)."""
    from scipy.optimize import linprog

    t, r = gs.shape
    # variables (lam, z): minimise z s.t. g_t . lam - z <= g_t . lam_t - f_t
    c = np.zeros(r + 1)
    c[-1] = 1.0
    a_ub = np.hstack([gs, -np.ones((t, 1))])
    b_ub = np.einsum("tk,tk->t", gs, lams) - fs
    bounds = [(0.0, float(u)) for u in upper] + [(None, None)]
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if res.status != 0:
        return -np.inf, lams[int(np.argmin(fs))]
    return float(res.fun), np.asarray(res.x[:r])


def _project(
    center: np.ndarray, lams: np.ndarray, fs: np.ndarray, gs: np.ndarray, level: float,
    upper: np.ndarray, fallback: np.ndarray,
) -> np.ndarray:
    """argmin ||lam - center||^2 over the model's level set within the box (SLSQP)."""
    from scipy.optimize import minimize

    scale = np.maximum(upper, 1e-12)
    # work in lam / scale so that every coordinate is O(1)
    g_s = gs * scale
    rhs = level - fs + np.einsum("tk,tk->t", gs, lams)
    norms = np.maximum(np.linalg.norm(g_s, axis=1), 1e-300)
    a = g_s / norms[:, None]
    b = rhs / norms
    x0 = np.clip(fallback / scale, 0.0, 1.0)
    c0 = center / scale
    res = minimize(
        lambda x: float(np.sum((x - c0) ** 2)), x0, jac=lambda x: 2.0 * (x - c0),
        method="SLSQP", bounds=[(0.0, 1.0)] * len(c0),
        constraints=[{"type": "ineq", "fun": lambda x: b - a @ x, "jac": lambda x: -a}],
        options={"maxiter": 200, "ftol": 1e-12},
    )
    x = res.x if res.success and np.all(np.isfinite(res.x)) else x0
    return np.clip(x, 0.0, 1.0) * scale
