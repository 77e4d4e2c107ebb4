"""Several budgets and per-option capacities on Dask: the in-memory level bundle, distributed.

The dual rows are those of engine/dual/arrays.py (budgets at their target limits, a capacity
"at most L units get option o" as a row with cost 1 on option o's cells and limit floor(L)).
The method is engine/dual/multi_budget.py's, step for step, with the data on the workers:

* **start**: every row's multiplier when it is the only row, on the in-memory start sample
  (engine.dual.multi_budget.start_sample: the same units by global position, gathered to the
  driver, about START_UNITS of them);
* **bundle**: :func:`engine.dual.multi_budget.level_bundle` with a :class:`DaskOracle`; an
  evaluation is one pass over the partitions, each returning per block of BLOCK_ROWS units its
  part of ``sum_i max_j (v_ij - lam . c_ij)`` and of the spend of that choice (the subgradient
  pieces); the driver adds them block after block as the in-memory kernel does, so where the
  partitions start on block boundaries (in-memory input is cut so) f(lam) and the subgradient
  are bit for bit the in-memory ones and the bundle visits the same points;
* **primal**: engine/dual/improve.py's repair and fill, distributed: each round every partition
  sends only the prefix of its own best moves that can be part of the global prefix (the
  argument of dask_dual's fill), the driver merges them in the in-memory order;
* **polish**: engine/dual/polish.py's core polish: the core units (at most ``core_size`` by
  second gap, plus those the repair moved) are gathered whole to the driver, where the core LP
  (HiGHS), its rounding and its completion MIP run as in memory; each candidate is repaired and
  filled on the workers; then engine/dual/swap.py's pair swaps, each round's 300 best upgrades
  and 600 cheapest downgrades merged from every partition's own.

The bound is f at the best multipliers (weak duality: valid for any lam >= 0), as in memory.
The driver holds per round O(rows + partitions) numbers and the core; the per-(unit, option)
arrays and every allocation stay on the workers.

Sums over partitions (usage, objective) are added partition by partition, so they may differ
from one numpy sum over all units in the last bit; a decision on a knife edge (a fill move that
fits to 1e-16) can then go the other way. The pair swaps stop after ``1 s`` as in memory, and a
distributed round takes longer, so they may make fewer swaps than in memory.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.distributed.parts import Chunk, PartsHeader, part_chunk
from engine.distributed.phases import Phases
from engine.dual.arrays import DualArrays, flush_subnormal, with_null_column
from engine.dual.kernels import BLOCK_ROWS
from formulations.errors import UsageError

#: the pair swaps' time limit and sizes (engine/dual/swap.py's defaults, as the backend uses)
SWAP_SECONDS = 1.0
SWAP_UPS = 300
SWAP_DOWNS = 600


@dataclass(frozen=True)
class MultiSpec:
    """What every task needs besides its partition."""

    header: PartsHeader | None
    at_most_one: bool
    capacity_labels: tuple[str, ...]
    limits: np.ndarray = field(compare=False)
    """(R,) the target limit of every dual row"""
    row_names: tuple[str, ...]
    n_budgets: int


@dataclass(frozen=True, eq=False)
class MultiPart:
    """A partition as dual arrays (engine.dual.arrays.DualArrays, local) and its chunk."""

    chunk: Chunk
    arr: DualArrays


def part_arrays(chunk: Chunk, spec: MultiSpec) -> DualArrays:
    """The dual arrays of one chunk, as engine.dual.arrays.dual_arrays makes them for an
    instance: capacity rows by option label (a part without that option has a zero row), the
    null column last for at-most-one."""
    value, costs = flush_subnormal(chunk.value), flush_subnormal(chunk.costs)
    valid = chunk.valid
    if spec.capacity_labels:
        index = {lab: i for i, lab in enumerate(chunk.labels)}
        extra = np.stack([
            (chunk.codes == index[lab]).astype(np.float64) if lab in index
            else np.zeros(value.shape) for lab in spec.capacity_labels
        ])
        costs = np.concatenate([costs, extra], axis=0)
    null_column = None
    if spec.at_most_one:
        value, costs, valid, null_column = with_null_column(value, costs, valid)
    return DualArrays(
        value=value, costs=costs, valid=None if bool(valid.all()) else valid,
        limits=spec.limits, row_names=spec.row_names, n_budgets=spec.n_budgets,
        null_column=null_column,
    )


def _prep(handle: Any, spec: MultiSpec) -> MultiPart:
    if isinstance(handle, MultiPart):
        return handle
    chunk = part_chunk(handle, spec.header)
    return MultiPart(chunk, part_arrays(chunk, spec))


def load_multi(handle: Any, spec: MultiSpec) -> MultiPart:
    """Task: read/prepare a partition (kept in worker memory when persisting)."""
    return _prep(handle, spec)


# --- tasks (run on workers; every result is small unless said) ---------------------------------


def task_scan(handle: Any, spec: MultiSpec) -> tuple[int, np.ndarray, int, int]:
    """(units, every row's least possible use, units without a usable option, columns)."""
    arr = _prep(handle, spec).arr
    least = np.empty(arr.n_rows)
    for k in range(arr.n_rows):
        c = arr.costs[k] if arr.valid is None else np.where(arr.valid, arr.costs[k], np.inf)
        least[k] = float(c.min(axis=1).sum()) if arr.n_units else 0.0
    empty = 0 if arr.valid is None else int(np.count_nonzero(~arr.valid.any(axis=1)))
    return arr.n_units, least, empty, int(arr.value.shape[1])


def task_start_sample(handle: Any, base: int, *, spec: MultiSpec,
                      stride: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """This partition's units of engine.dual.multi_budget.start_sample (global positions
    ``base + i`` divisible by ``stride``): (value, costs, valid)."""
    arr = _prep(handle, spec).arr
    sel = slice((-int(base)) % stride, None, stride)
    value = arr.value[sel]
    valid = np.ones(value.shape, dtype=bool) if arr.valid is None else arr.valid[sel]
    return value, arr.costs[:, sel], valid


@dataclass(frozen=True, eq=False)
class EvalPart:
    """The Lagrangian choice of a partition (kept on the worker) and its per-block sums."""

    index: np.ndarray
    block_lagrangian: np.ndarray
    block_spend: np.ndarray


def task_evaluate(handle: Any, spec: MultiSpec, lam: np.ndarray) -> EvalPart:
    """engine.dual.kernels.lagrangian_choice block by block (the in-memory blocks where the
    partition starts on a block boundary)."""
    from engine.dual.kernels import lagrangian_choice

    arr = _prep(handle, spec).arr
    n = arr.n_units
    nb = -(-n // BLOCK_ROWS)
    idx = np.empty(n, dtype=np.int64)
    bl = np.zeros(nb)
    bs = np.zeros((nb, arr.n_rows))
    for i, a in enumerate(range(0, n, BLOCK_ROWS)):
        b = min(n, a + BLOCK_ROWS)
        ch = lagrangian_choice(arr.value[a:b], arr.costs[:, a:b], lam)
        idx[a:b] = ch.index
        bl[i] = ch.lagrangian
        bs[i] = ch.spend
    return EvalPart(idx, bl, bs)


def task_eval_sums(ep: EvalPart) -> tuple[np.ndarray, np.ndarray]:
    return ep.block_lagrangian, ep.block_spend


def task_cols_of(ep: EvalPart) -> np.ndarray:
    return ep.index


def task_cheapest(handle: Any, *, spec: MultiSpec, w: np.ndarray) -> np.ndarray:
    """engine.repair.cheapest on this partition: every unit's cell of least weighted cost
    (ties: the higher value), the null cell for at-most-one."""
    arr = _prep(handle, spec).arr
    if arr.null_column is not None:
        return np.full(arr.n_units, arr.null_column, dtype=np.int64)
    wc = np.tensordot(w, arr.costs, axes=1)
    if arr.valid is not None:
        wc = np.where(arr.valid, wc, np.inf)
    return np.lexsort((-arr.value, wc), axis=-1)[:, 0].astype(np.int64)


def task_usage(handle: Any, cols: np.ndarray, *, spec: MultiSpec) -> tuple[np.ndarray, float]:
    """(R,) use of every row and the value of the allocation ``cols`` on this partition."""
    arr = _prep(handle, spec).arr
    if arr.n_units == 0:
        return np.zeros(arr.n_rows), 0.0
    return arr.usage(cols), arr.objective(cols)


def task_set(cols: np.ndarray, units: np.ndarray, new: np.ndarray) -> np.ndarray:
    """A copy of ``cols`` with ``cols[units] = new``."""
    out = np.array(cols, dtype=np.int64)
    out[units] = new
    return out


def task_repair_moves(
    handle: Any, cols: np.ndarray, *, spec: MultiSpec, w: np.ndarray, excess: np.ndarray,
    need: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """The partition's movable units in repair's order (ratio, then unit), cut after the first
    whose running saving reaches ``need``: (unit, ratio, column, saving, movable count)."""
    from engine.dual.improve import downgrade_scores

    arr = _prep(handle, spec).arr
    ratio, best, save = downgrade_scores(arr, cols, w, excess)
    movable = np.flatnonzero(np.isfinite(ratio))
    order = movable[np.argsort(ratio[movable], kind="stable")]
    k = int(np.searchsorted(np.cumsum(save[order]), need)) + 1
    take = order[: min(k, order.size)]
    return take, ratio[take], best[take], save[take], int(movable.size)


@dataclass(frozen=True, eq=False)
class FillState:
    """A partition's allocation and its fill candidates (engine.dual.improve.fill's list)."""

    cols: np.ndarray
    units: np.ndarray
    opts: np.ndarray


def task_fill_init(handle: Any, cols: np.ndarray, *, spec: MultiSpec,
                   slack: np.ndarray) -> FillState:
    from engine.dual.improve import _candidate_moves

    arr = _prep(handle, spec).arr
    c = np.array(cols, dtype=np.int64)
    units, opts, _, _ = _candidate_moves(arr, c, slack)
    return FillState(c, units, opts)


def _fill_moves(arr: DualArrays, st: FillState, slack: np.ndarray) -> tuple[np.ndarray, ...]:
    cur = st.cols[st.units]
    gain = arr.value[st.units, st.opts] - arr.value[st.units, cur]
    extra = arr.costs[:, st.units, st.opts] - arr.costs[:, st.units, cur]
    ok = (gain > 0) & np.all(extra <= slack[:, None], axis=0)
    return ok, gain, extra


def task_fill_candidates(
    handle: Any, st: FillState, *, spec: MultiSpec, slack: np.ndarray, w: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Every unit's best move (fill's pick), in fill's order, cut to the prefix that fits every
    row plus one: (local unit, column, score, gain, extra (R, k), position in the list)."""
    arr = _prep(handle, spec).arr
    ok, gain, extra = _fill_moves(arr, st, slack)
    idx = np.flatnonzero(ok)
    units, gain, extra = st.units[idx], gain[idx], extra[:, idx]
    wextra = w @ extra
    score = np.where(wextra > 0, gain / np.where(wextra > 0, wextra, 1.0), np.inf)
    order = np.lexsort((-gain, -score))
    _, first = np.unique(units[order], return_index=True)
    pick = order[np.sort(first)]
    cum = np.cumsum(np.maximum(extra[:, pick], 0.0), axis=1)
    fits = np.all(cum <= slack[:, None], axis=0)
    k = int(np.argmin(fits)) if not fits.all() else fits.size
    pick = pick[: k + 1]
    return (units[pick], st.opts[idx[pick]], score[pick], gain[pick], extra[:, pick],
            idx[pick])


def task_fill_apply(handle: Any, st: FillState, *, spec: MultiSpec, slack: np.ndarray,
                    positions: np.ndarray) -> FillState:
    """Make the chosen moves (positions in the list before this round's filter), then drop the
    candidates that failed this round's test (as fill does)."""
    arr = _prep(handle, spec).arr
    ok, _, _ = _fill_moves(arr, st, slack)
    cols = st.cols
    if positions.size:
        cols = cols.copy()
        cols[st.units[positions]] = st.opts[positions]
    return FillState(cols, st.units[ok], st.opts[ok])


def task_fill_cols(st: FillState) -> np.ndarray:
    return st.cols


def task_second_gap(handle: Any, spec: MultiSpec, lam: np.ndarray,
                    keep: int) -> tuple[np.ndarray, float]:
    """The ``keep`` smallest second gaps (sorted) and the largest finite one."""
    from engine.dual.core import second_gap

    g2 = second_gap(_prep(handle, spec).arr, lam)
    finite = g2[np.isfinite(g2)]
    top = float(np.max(finite, initial=0.0))
    if g2.size > keep:
        g2 = np.partition(g2, keep - 1)[:keep]
    return np.sort(g2), top


@dataclass(frozen=True, eq=False)
class CoreRows:
    """The core units of a partition, whole, and what the other units use."""

    units: np.ndarray
    value: np.ndarray
    costs: np.ndarray
    valid: np.ndarray
    incumbent: np.ndarray
    allowed: np.ndarray
    margin: np.ndarray
    used_out: np.ndarray
    value_out: float


def task_core_rows(handle: Any, cols: np.ndarray, *, spec: MultiSpec, lam: np.ndarray,
                   tau: float) -> CoreRows:
    """engine.dual.polish.core_polish's allowed cells and engine.dual.core.build_core's core
    units (two or more allowed cells) on this partition."""
    from engine.dual.core import reduced_costs, second_gap_of

    arr = _prep(handle, spec).arr
    n = arr.n_units
    inc = np.asarray(cols, dtype=np.int64)
    d = reduced_costs(arr, lam)
    allowed = d >= -tau
    allowed[np.arange(n), inc] = True
    core = np.flatnonzero(allowed.sum(axis=1) >= 2)
    out = np.ones(n, dtype=bool)
    out[core] = False
    ro = np.flatnonzero(out)
    valid = np.ones(arr.value.shape, dtype=bool) if arr.valid is None else arr.valid
    return CoreRows(
        units=core, value=arr.value[core], costs=arr.costs[:, core], valid=valid[core],
        incumbent=inc[core], allowed=allowed[core], margin=second_gap_of(d)[core],
        used_out=arr.costs[:, ro, inc[ro]].sum(axis=1) if ro.size else np.zeros(arr.n_rows),
        value_out=float(arr.value[ro, inc[ro]].sum()) if ro.size else 0.0,
    )


def task_swap_moves(
    handle: Any, cols: np.ndarray, *, spec: MultiSpec, w: np.ndarray, ups: int, downs: int,
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """engine.dual.swap.best_moves of this partition: its best upgrades and cheapest
    downgrades, each (unit, cell, dv, dc (R, k), rank key)."""
    from engine.dual.swap import best_moves

    return best_moves(_prep(handle, spec).arr, cols, w, ups, downs)


def task_assignment(cols: np.ndarray, spec: MultiSpec, handle: Any) -> np.ndarray:
    c = np.asarray(cols, dtype=np.int64)
    if spec.at_most_one:
        return np.where(c == _prep(handle, spec).chunk.value.shape[1], -1, c)
    return c


def task_write(handle: Any, cols: np.ndarray, path: str, spec: MultiSpec) -> tuple[float, float]:
    from engine.distributed.dask_dual import write_chunk_allocation

    return write_chunk_allocation(_prep(handle, spec).chunk, cols, path, spec.header)


# --- the driver side ---------------------------------------------------------------------------


@dataclass
class Cluster:
    """The driver's view of the partitions: handles, unit counts and global offsets."""

    client: Any
    handles: list[Any]
    spec: MultiSpec
    n_units: np.ndarray
    widths: np.ndarray
    """(P,) every partition's number of dense columns (the null column included)"""
    aligned: bool = field(init=False)

    def __post_init__(self) -> None:
        self.bases = np.concatenate([[0], np.cumsum(self.n_units)[:-1]]).astype(np.int64)
        self.aligned = bool(np.all(self.bases % BLOCK_ROWS == 0))

    @property
    def limits(self) -> np.ndarray:
        return self.spec.limits

    def map(self, fn: Callable[..., Any], *iterables: Sequence[Any], **kw: Any) -> list[Any]:
        return list(self.client.map(fn, *iterables, pure=False, **kw))

    def gather(self, futures: list[Any]) -> list[Any]:
        return list(self.client.gather(futures))

    def usage(self, cols: list[Any]) -> tuple[np.ndarray, float]:
        """(R,) use of every row and the value of an allocation (partition sums added)."""
        parts = self.gather(self.map(task_usage, self.handles, cols, spec=self.spec))
        use = np.zeros(self.spec.limits.size)
        for u, _ in parts:
            use = use + u
        return use, math.fsum(v for _, v in parts)

    def set_cols(self, cols: list[Any], gunits: np.ndarray, new: np.ndarray) -> list[Any]:
        """``cols`` with the global units ``gunits`` moved to the columns ``new``."""
        part = np.searchsorted(self.bases, gunits, side="right") - 1
        out = list(cols)
        for p in np.unique(part):
            sel = part == p
            out[p] = self.client.submit(task_set, cols[p], gunits[sel] - self.bases[p],
                                        new[sel], pure=False)
        return out


def repair(cl: Cluster, cols: list[Any], weights: np.ndarray | None,
           max_rounds: int = 100) -> list[Any]:
    """engine.dual.improve.repair over the partitions."""
    limits = cl.limits
    if weights is None or not np.any(np.asarray(weights) > 0):
        weights = 1.0 / np.maximum(np.abs(limits), 1e-12)
    w_all = np.maximum(np.asarray(weights, dtype=np.float64), 1e-12)
    for _ in range(max_rounds):
        use, _ = cl.usage(cols)
        excess = -(limits - use)
        over = excess > 0
        if not over.any():
            break
        w = np.where(over, w_all, 0.0)
        need = float(w @ np.maximum(excess, 0.0))
        parts = cl.gather(cl.map(task_repair_moves, cl.handles, cols, spec=cl.spec, w=w,
                                 excess=excess, need=need))
        if sum(p[4] for p in parts) == 0:
            break
        gunit = np.concatenate([p[0] + cl.bases[i] for i, p in enumerate(parts)])
        ratio, best, save = (np.concatenate([p[f] for p in parts]) for f in (1, 2, 3))
        order = np.lexsort((gunit, ratio))
        k = int(np.searchsorted(np.cumsum(save[order]), need)) + 1
        take = order[: min(k, order.size)]
        cols = cl.set_cols(cols, gunit[take], best[take])
    return cols


def greedy(cl: Cluster, left: Callable[[], float | None]) -> tuple[list[Any] | None,
                                                                   float | None]:
    """engine.backends.greedy's method over the partitions, for Parquet parts where the repair
    of the Lagrangian choice failed: every unit's cheapest cell by budget / target limit,
    repaired, then filled while ``left()`` (the time limit's rest; None: no limit) is not
    spent. (None, None) where even that breaks a row."""
    w = np.zeros(cl.limits.size)
    nb = cl.spec.n_budgets
    w[:nb] = 1.0 / np.maximum(np.abs(cl.limits[:nb]), 1e-12)
    cols = repair(cl, cl.map(task_cheapest, cl.handles, spec=cl.spec, w=w), None)
    use, obj = cl.usage(cols)
    if not np.all(cl.limits - use >= 0):
        return None, None
    from engine.stopping import interrupted

    rest = left()
    if (rest is None or rest > 0) and not interrupted():
        cols = fill(cl, cols, None, 200)
        _, obj = cl.usage(cols)
    return cols, obj


def fill(cl: Cluster, cols: list[Any], weights: np.ndarray | None,
         max_rounds: int) -> list[Any]:
    """engine.dual.improve.fill over the partitions (same candidates, order and cut)."""
    limits = cl.limits
    use, _ = cl.usage(cols)
    slack = limits - use
    if np.any(slack < 0) or max_rounds <= 0:
        return cols
    if weights is None or not np.any(np.asarray(weights) > 0):
        weights = 1.0 / np.maximum(np.abs(limits), 1e-12)
    w = np.maximum(np.asarray(weights, dtype=np.float64), 1e-12)
    states = cl.map(task_fill_init, cl.handles, cols, spec=cl.spec, slack=slack)
    for _ in range(max_rounds):
        parts = cl.gather(cl.map(task_fill_candidates, cl.handles, states, spec=cl.spec,
                                 slack=slack, w=w))
        lu = [p[0] for p in parts]
        if sum(x.size for x in lu) == 0:
            break
        part = np.concatenate([np.full(x.size, i, dtype=np.int64) for i, x in enumerate(lu)])
        gunit = np.concatenate([x + cl.bases[i] for i, x in enumerate(lu)])
        col, score, gain, pos = (np.concatenate([p[f] for p in parts]) for f in (1, 2, 3, 5))
        extra = np.concatenate([p[4] for p in parts], axis=1)
        # fill's order: score down, gain down, then its list's (block, column, unit)
        order = np.lexsort((gunit, col, gunit // BLOCK_ROWS, -gain, -score))
        cum = np.cumsum(np.maximum(extra[:, order], 0.0), axis=1)
        fits = np.all(cum <= slack[:, None], axis=0)
        k = int(np.argmin(fits)) if not fits.all() else fits.size
        take = order[: max(k, 1)]
        states = [
            cl.client.submit(task_fill_apply, h, spec=cl.spec, st=st, slack=slack,
                             positions=pos[take[part[take] == i]], pure=False)
            for i, (h, st) in enumerate(zip(cl.handles, states, strict=True))
        ]
        slack = slack - extra[:, take].sum(axis=1)
    return cl.map(task_fill_cols, states)


@dataclass
class DaskOracle:
    """engine.dual.multi_budget.BundleOracle over the partitions of a Dask cluster."""

    cl: Cluster

    @property
    def n_rows(self) -> int:
        return int(self.cl.limits.size)

    @property
    def limits(self) -> np.ndarray:
        return self.cl.limits

    def evaluate(self, lam: np.ndarray) -> tuple[float, np.ndarray, Any]:
        cl = self.cl
        lam = np.asarray(lam, dtype=np.float64)
        eps = cl.map(task_evaluate, cl.handles, spec=cl.spec, lam=lam)
        sums = cl.gather(cl.map(task_eval_sums, eps))
        # the in-memory kernel's accumulation: block after block
        total = 0.0
        spend = np.zeros(self.n_rows)
        for bl, bs in sums:
            for i in range(bl.size):
                total += float(bl[i])
                spend += bs[i]
        return float(lam @ self.limits + total), self.limits - spend, eps

    def row_alone(self) -> np.ndarray:
        """The in-memory oracle's start: the same sampled units, gathered to the driver (about
        START_UNITS of them, all where there are fewer than twice that)."""
        from engine.dual.multi_budget import row_alone_multipliers, sample_arrays, start_stride

        cl = self.cl
        n = int(cl.n_units.sum())
        stride = start_stride(n)
        got = cl.gather(cl.map(task_start_sample, cl.handles, list(cl.bases), spec=cl.spec,
                               stride=stride))
        m = int(cl.widths.max())
        lay = [Layout(int(w), m, cl.spec.at_most_one) for w in cl.widths]
        value = np.concatenate([lay[i].widen(g[0], -np.inf) for i, g in enumerate(got)])
        costs = np.concatenate([lay[i].widen(g[1], 0.0) for i, g in enumerate(got)], axis=1)
        valid = np.concatenate([lay[i].widen(g[2], False) for i, g in enumerate(got)])
        return row_alone_multipliers(sample_arrays(
            value, costs, valid, n, limits=cl.limits, row_names=cl.spec.row_names,
            n_budgets=cl.spec.n_budgets, null_column=m - 1 if cl.spec.at_most_one else None))

    def primal(self, cols: Any, lam: np.ndarray, fill_rounds: int) -> tuple[Any, float] | None:
        cl = self.cl
        c = repair(cl, cl.map(task_cols_of, cols), lam)  # cols: the evaluation's EvalParts
        use, obj = cl.usage(c)
        if not np.all(cl.limits - use >= 0):
            return None
        if fill_rounds > 0:
            c = fill(cl, c, lam, fill_rounds)
            _, obj = cl.usage(c)
        return c, obj


def core_polish(cl: Cluster, lam: np.ndarray, incumbent: list[Any], obj: float, *,
                core_size: int, time_limit: float) -> tuple[list[Any], float, dict[str, float]]:
    """engine.dual.polish.core_polish with the core gathered to the driver."""
    from engine.dual.core import build_core
    from engine.dual.polish import core_candidates

    t0 = time.perf_counter()
    spec = cl.spec
    n = int(cl.n_units.sum())
    keep = core_size + 1
    g = cl.gather(cl.map(task_second_gap, cl.handles, spec=spec, lam=lam, keep=keep))
    if n > core_size:
        tau = float(np.sort(np.concatenate([x[0] for x in g]))[core_size])
    else:
        tau = float(max(x[1] for x in g))
    rows: list[CoreRows] = cl.gather(cl.map(task_core_rows, cl.handles, incumbent, spec=spec,
                                            lam=lam, tau=tau))
    used_out = np.zeros(spec.limits.size)
    for r in rows:
        used_out = used_out + r.used_out
    m = int(cl.widths.max())

    def widen(r: CoreRows, width: int) -> CoreRows:
        if width == m:
            return r
        lay = Layout(width, m, spec.at_most_one)
        return CoreRows(r.units, lay.widen(r.value, -np.inf), lay.widen(r.costs, 0.0),
                        lay.widen(r.valid, False), _remap(r.incumbent, width, m, spec),
                        lay.widen(r.allowed, False), r.margin, r.used_out, r.value_out)

    rows = [widen(r, int(cl.widths[i])) for i, r in enumerate(rows)]
    gunits = np.concatenate([r.units + cl.bases[i] for i, r in enumerate(rows)])
    value = np.concatenate([r.value for r in rows])
    valid = np.concatenate([r.valid for r in rows])
    sub = DualArrays(
        value=value, costs=np.concatenate([r.costs for r in rows], axis=1),
        valid=None if bool(valid.all()) else valid, limits=spec.limits - used_out,
        row_names=spec.row_names, n_budgets=spec.n_budgets,
        null_column=m - 1 if spec.at_most_one else None,
    )
    inc = np.concatenate([r.incumbent for r in rows])
    margin = np.concatenate([r.margin for r in rows])
    core = build_core(sub, np.concatenate([r.allowed for r in rows]), inc)
    info = {"core_units": float(core.units.size), "core_tau": tau}
    best, best_obj = incumbent, obj
    for sub_cols in core_candidates(sub, core, lam, margin, time_limit, t0, info):
        sub_cols = _unmap(sub_cols, rows, cl, m, spec)
        cols = cl.set_cols(incumbent, gunits, sub_cols)
        cols = repair(cl, cols, lam)
        use, _ = cl.usage(cols)
        if np.all(cl.limits - use >= 0):
            cols = fill(cl, cols, lam, 20)
            _, o = cl.usage(cols)
            if o > best_obj:
                best, best_obj = cols, o
    info["core_seconds"] = time.perf_counter() - t0
    return best, best_obj, info


@dataclass(frozen=True)
class Layout:
    """A partition's dense columns (``width`` of them) in the widest layout (``m``): they
    line up (a unit's cells in its row order) but their number may differ between Parquet
    parts, and the null column (at-most-one) is the last one of every layout."""

    width: int
    m: int
    at_most_one: bool

    def widen(self, a: np.ndarray, fillv: Any) -> np.ndarray:
        """``a`` (..., width) as (..., m), the new cells ``fillv``."""
        m = self.m
        if self.width == m:
            return a

        def pad(x: np.ndarray) -> np.ndarray:
            return np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, m - x.shape[-1])],
                          constant_values=fillv)

        if not self.at_most_one:
            return pad(a)
        return np.concatenate([pad(a[..., :-1])[..., : m - 1], a[..., -1:]], axis=-1)


def _remap(cols: np.ndarray, width: int, m: int, spec: MultiSpec) -> np.ndarray:
    """A partition's dense columns in a wider layout (only the null column moves)."""
    if not spec.at_most_one or width == m:
        return cols
    return np.where(cols == width - 1, m - 1, cols)


def _unmap(sub_cols: np.ndarray, rows: list[CoreRows], cl: Cluster, m: int,
           spec: MultiSpec) -> np.ndarray:
    """Driver-wide core columns back to every partition's own layout."""
    if not spec.at_most_one:
        return sub_cols
    widths = np.concatenate([np.full(r.units.size, cl.widths[i], dtype=np.int64)
                             for i, r in enumerate(rows)])
    return np.where(sub_cols == m - 1, widths - 1, sub_cols)


def pair_swap(cl: Cluster, cols: list[Any], obj: float, weights: np.ndarray, *,
              time_limit: float = SWAP_SECONDS, max_rounds: int = 200) -> tuple[list[Any], float]:
    """engine.dual.swap.pair_swap over the partitions (the same pairs, round by round)."""
    t0 = time.perf_counter()
    w = np.maximum(np.asarray(weights, dtype=np.float64), 1e-12)
    for _ in range(max_rounds):
        if time.perf_counter() - t0 > time_limit:
            break
        use, obj = cl.usage(cols)
        slack = cl.limits - use
        parts = cl.gather(cl.map(task_swap_moves, cl.handles, cols, spec=cl.spec, w=w,
                                 ups=SWAP_UPS, downs=SWAP_DOWNS))
        up = _merge([p[0] for p in parts], cl.bases)
        down = _merge([p[1] for p in parts], cl.bases)
        if up[0].size == 0 or down[0].size == 0:
            break
        # the partitions' keys, computed as in memory: the same order as one list would have
        uo = np.lexsort((up[1], up[0], up[4]))[:SWAP_UPS]
        do = np.lexsort((down[1], down[0], down[4]))[:SWAP_DOWNS]
        uu, uj, udv, udc = (a[..., uo] for a in up[:4])
        du, dj, ddv, ddc = (a[..., do] for a in down[:4])
        ok = uu[:, None] != du[None, :]
        for k in range(slack.size):
            ok &= udc[k][:, None] + ddc[k][None, :] <= slack[k]
        gain = np.where(ok, udv[:, None] + ddv[None, :], -np.inf)
        a, b = np.unravel_index(int(np.argmax(gain)), gain.shape)
        if not gain[a, b] > 1e-12 * max(1.0, abs(obj)):
            break
        before = cols
        cols = cl.set_cols(cols, np.array([uu[a], du[b]]), np.array([uj[a], dj[b]]))
        use, _ = cl.usage(cols)
        if np.any(cl.limits - use < 0):  # rounding: undo and stop
            cols = before
            break
        cols = fill(cl, cols, w, 5)
    _, obj = cl.usage(cols)
    return cols, obj


def _merge(lists: list[tuple[np.ndarray, ...]], bases: np.ndarray) -> tuple[np.ndarray, ...]:
    r = lists[0][3].shape[0]
    gunit = np.concatenate([x[0] + bases[i] for i, x in enumerate(lists)])
    cell = np.concatenate([x[1] for x in lists])
    dv = np.concatenate([x[2] for x in lists])
    dc = np.concatenate([x[3] for x in lists], axis=1) if lists else np.zeros((r, 0))
    return gunit, cell, dv, dc, np.concatenate([x[4] for x in lists])


def solve_multi_dask(
    inst: Any, header: PartsHeader | None, *, time_limit: float | None, dual_opts: Any,
    opts: Any, start: float,
) -> Any:
    """The ``dual`` solve of several budgets and/or capacities on Dask (see the module doc).

    Called by engine.distributed.dask_dual.solve_dual_dask with the parsed options; ``inst``
    is an in-memory Instance (cut into chunks of whole blocks of BLOCK_ROWS units) or None
    with the ``header`` of a partitioned Parquet instance.
    """
    from dataclasses import replace

    from engine.distributed.cluster import cluster_memory, dask_client
    from engine.distributed.dask_dual import (
        CLIENT_KEYS,
        PERSIST_SHARE,
        _split_instance,
        _write_out,
    )
    from engine.dual.multi_budget import level_bundle
    from engine.options import positive
    from engine.progress import progress
    from engine.result import SolveResult, Status, is_proven_optimal
    from engine.stopping import interrupted
    from formulations.assignment import target_limits, within_limits

    positive("dual", gap=dual_opts.gap, max_iter=dual_opts.max_iter,
             core_size=dual_opts.core_size)
    if inst is not None:
        budgets, caps, choose, name = inst.budgets, inst.capacities, inst.choose, inst.name
    else:
        assert header is not None
        budgets, caps, choose, name = header.budgets, header.capacities, header.choose, \
            header.name
    budget_limits = np.array([b.limit for b in budgets], dtype=np.float64)
    row_names = tuple(b.name for b in budgets) + tuple(f"capacity:{c.option}" for c in caps)
    limits = np.concatenate([target_limits(budget_limits),
                             np.floor([float(c.limit) for c in caps])]).astype(np.float64)
    if inst is not None:
        labels = set(inst.option_labels)
        for c in caps:
            if c.option not in labels:  # pragma: no cover - the instance checks its capacities
                raise UsageError(f"capacity on option {c.option!r}: no such option")
    spec = MultiSpec(header=header, at_most_one=choose == "at-most-one",
                     capacity_labels=tuple(c.option for c in caps), limits=limits,
                     row_names=row_names, n_budgets=len(budgets))
    detail: dict[str, Any] = {"backend": "dask", "method": "level-bundle"}
    limits_map = {b.name: float(b.limit) for b in budgets}
    phases = Phases(start)
    timings, lap = phases.timings, phases.lap

    def left() -> float | None:
        return None if time_limit is None else time_limit - (time.perf_counter() - start)

    client_opts = {k: getattr(dual_opts, k) for k in CLIENT_KEYS}
    with dask_client(client_opts) as client, progress(
        "dask dual (level bundle)", total=dual_opts.max_iter, enabled=opts.progress
    ) as bar:
        if inst is not None:
            raw: list[Any] = client.scatter(
                _split_instance(inst, opts.partition_rows, align=BLOCK_ROWS), hash=False)
        else:
            assert header is not None
            raw = list(header.parts)
        if inst is not None:
            n_rows = inst.n_rows
        else:
            from engine.distributed.parts import part_rows

            n_rows = int(sum(client.gather(client.map(part_rows, raw, pure=False))))
        # dense value + every row's costs + codes, per row (the dual arrays are views of them)
        est_bytes = n_rows * (8 * (1 + limits.size) + 4)
        mem = cluster_memory(client)
        persist = opts.persist == "true" or (
            opts.persist == "auto" and mem > 0 and est_bytes < PERSIST_SHARE * mem
        )
        # read every part once: the scan runs on the kept partitions where they are kept
        handles = client.map(load_multi, raw, spec=spec, pure=False) if persist else raw
        scans = client.gather(client.map(task_scan, handles, spec=spec, pure=False))
        n_units = np.array([s[0] for s in scans], dtype=np.int64)
        cl = Cluster(client, list(handles), spec, n_units,
                     np.array([s[3] for s in scans], dtype=np.int64))
        detail.update(partitions=len(raw), persisted=persist, units=int(n_units.sum()),
                      aligned_partitions=cl.aligned,
                      workers=len(client.scheduler_info().get("workers", {})))
        if header is not None:
            from engine.distributed.unit_split import check_units_in_one_part

            detail.update(check_units_in_one_part(client, cl.handles, list(header.parts),
                                                  header.columns.unit))
        lap("setup")
        least = np.sum([s[1] for s in scans], axis=0)
        for k in range(limits.size):
            if least[k] > limits[k]:
                return SolveResult(
                    status="infeasible", solver="dual-dask", limits=limits_map,
                    seconds=time.perf_counter() - start, detail=detail,
                    message=f"{row_names[k]}: even the cheapest option of every unit uses "
                    f"{least[k]:.10g} > limit {limits[k]:.10g}")

        def tick(it: int, f: float, obj: float | None) -> None:
            bar.describe(f"dask dual: bound {f:.6g}" + ("" if obj is None else
                                                       f", best {obj:.6g}"))
            bar.advance(1)

        # the limit counts from the solve's start (the cluster and the setup included)
        rest0 = left()
        m = level_bundle(DaskOracle(cl), time_limit=None if rest0 is None else max(rest0, 0.01),
                         max_iter=dual_opts.max_iter,
                         tol=dual_opts.gap, lam0=dual_opts.lam0, on_iteration=tick,
                         fill_rounds=0 if dual_opts.polish else 10)
        lap("bundle")
        detail.update(iterations=m.iterations, bundle_timings=m.timings, **m.info)
        mult = {nm: float(v) for nm, v in zip(row_names, m.lam, strict=True)}
        cols: list[Any] | None = m.cols
        obj = m.objective
        if cols is None and inst is not None:
            from engine.dual.arrays import dual_arrays
            from engine.dual.backend import _fallback_allocation

            # the instance is in the driver's memory already: the in-memory fallback
            arr = dual_arrays(inst)
            fb = _fallback_allocation(inst, arr, left())
            detail["fallback"] = "greedy" if fb is not None else "none"
            if fb is not None:
                pieces = np.split(np.asarray(fb, dtype=np.int64), np.cumsum(n_units)[:-1])
                cols = list(client.scatter(pieces, hash=False))
                _, obj = cl.usage(cols)
            del arr
        elif cols is None:
            cols, obj = greedy(cl, left)
            detail["fallback"] = "greedy" if cols is not None else "none"
        if cols is not None and obj is not None and dual_opts.polish:
            gap = (m.bound - obj) / max(1.0, abs(m.bound))
            rest = left()
            if gap > dual_opts.gap and (rest is None or rest > 0.5) and not interrupted():
                cols, obj, info = core_polish(
                    cl, m.lam, cols, obj, core_size=dual_opts.core_size,
                    time_limit=10.0 if rest is None else min(10.0, 0.8 * rest))
                detail.update(info)
                lap("polish")
                before = obj
                rest = left()
                # as in memory: no swaps once the polish met the gap asked for
                if (m.bound - obj) / max(1.0, abs(m.bound)) > dual_opts.gap:
                    t_swap = time.perf_counter()
                    cols, obj = pair_swap(cl, cols, obj, m.lam, time_limit=SWAP_SECONDS
                                          if rest is None else min(SWAP_SECONDS,
                                                                   0.1 * max(rest, 0.0)))
                    detail["pair_swap_gain"] = obj - before
                    detail["pair_swap_seconds"] = time.perf_counter() - t_swap
                    lap("pair_swap")
        if cols is None:
            detail["timings"] = timings
            return SolveResult(
                status="error", solver="dual-dask", bound=m.bound, limits=limits_map,
                multipliers=mult, seconds=time.perf_counter() - start, detail=detail,
                message="repair found no allocation that respects every budget")
        assignment = None
        use, value = cl.usage(cols)
        if inst is not None:
            pieces = cl.gather(cl.map(task_assignment, cols, [spec] * len(cols), cl.handles))
            assignment = np.concatenate(pieces).astype(np.int64)
        if opts.out:
            _write_out(client, cl.handles, cols, spec, opts.out, task=task_write)
            detail["out"] = str(opts.out)
        lap("output")
        detail["timings"] = timings

    if inst is not None:
        from engine.finalize import build_result

        result = build_result(inst, solver="dual-dask", assignment=assignment, bound=m.bound,
                              multipliers=mult, detail=detail)
        return replace(result, seconds=time.perf_counter() - start)
    usage = use[: len(budgets)]
    if not bool(np.all(within_limits(usage, budget_limits))):  # pragma: no cover
        raise RuntimeError(f"internal: dask allocation overspends {usage!r} > {budget_limits!r}")
    status: Status = "optimal" if is_proven_optimal(value, m.bound) else "feasible"
    return SolveResult(
        status=status, solver="dual-dask", objective=value, bound=m.bound,
        usage={b.name: float(u) for b, u in zip(budgets, usage, strict=True)},
        limits=limits_map, multipliers=mult, seconds=time.perf_counter() - start,
        detail={**detail, "name": name}, allocation_path=str(opts.out),
    )
