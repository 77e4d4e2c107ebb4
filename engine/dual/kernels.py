"""Per-chunk numpy kernels of the Lagrangian dual on dense arrays (one row per unit).

Every kernel works on one chunk of units held as dense arrays:

* ``value``: (n, M) float64; unusable cells (padding of ragged units) are ``-inf``;
* ``cost``: (n, M) float64 for one budget (or ``costs`` (K, n, M) where stated); the cost of an
  unusable cell is ignored.

M is small (2..20), so kernels loop over the M columns and never over units; temporaries are
O(n) per column. Nothing here knows about files, Dask or instances: the in-memory solver
(engine/dual/one_budget.py) and the Dask backend (engine/distributed/) both call these on their
chunks and reduce the small results. Signatures are stable; new arguments are keyword-only with
defaults.

The upper hull (Sinha & Zoltners 1979): sort a unit's options by cost, drop options that cost at
least as much and are worth no more, and options below the upper concave envelope of
(cost, value). Along the hull the incremental efficiencies d_value / d_cost are non-increasing
(collinear middle points are dropped, so they strictly decrease). For a multiplier
lam >= 0 the Lagrangian choice ``argmax_j v_j - lam * c_j`` is the hull point reached by taking
every increment with efficiency > lam.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from engine.dual import compiled

#: efficiency of padding increments (never above any multiplier)
PAD_EFFICIENCY = -np.inf


@dataclass(frozen=True, eq=False)
class Hulls:
    """The upper convex hull of every unit of a chunk (see :func:`upper_hulls`).

    Options are looked at in increasing cost ("sorted columns"); ``order`` maps a sorted
    column back to the option (column of the input), or is None when the input columns were
    already sorted by cost in every row (then sorted column = option).

    Attributes
    ----------
    order:
        (n, M) int64 or None.
    start:
        (n,) int16 sorted column of hull point 0 (the cheapest option, the most valuable among
        equally cheap ones); -1 for a unit without usable options.
    d_value, d_cost:
        (n, M-1) float64 (d_value None when built with ``keep_value=False``): entry [i, j-1]
        is the increment of unit i that *ends* at sorted column j (from the previous hull
        point), 0 where column j is not a hull point after the start. d_value > 0 and
        d_cost > 0 on every real increment.
    efficiency:
        (n, M-1) d_value / d_cost on real increments, ``PAD_EFFICIENCY`` (-inf) elsewhere;
        along each row the real entries are strictly decreasing.
    start_value, start_cost:
        (n,) value and cost of the hull start; 0 for a unit without usable options.
    """

    order: np.ndarray | None
    start: np.ndarray
    d_value: np.ndarray | None
    d_cost: np.ndarray
    efficiency: np.ndarray
    start_value: np.ndarray
    start_cost: np.ndarray

    @property
    def n_units(self) -> int:
        return int(self.start.shape[0])

    def choice_at(self, lam: float) -> np.ndarray:
        """(n,) option index chosen at multiplier ``lam`` (every increment with eff > lam)."""
        return self.option_of(sorted_choice_at(self, lam))

    def option_of(self, sorted_col: np.ndarray) -> np.ndarray:
        """Map sorted columns (n,) back to option indices (-1 stays -1)."""
        col = np.asarray(sorted_col, dtype=np.int64)
        if self.order is None:
            return col
        rows = np.arange(col.shape[0])
        return np.where(col >= 0, self.order[rows, np.maximum(col, 0)], -1)


def _cost_order(value: np.ndarray, cost: np.ndarray, valid: np.ndarray) -> np.ndarray | None:
    """Column order by cost per row, or None when every row is already sorted (common case)."""
    m = value.shape[1]
    key = np.where(valid, cost, np.inf)
    for j in range(m - 1):
        if np.any(key[:, j] > key[:, j + 1]):
            # ties in cost: the more valuable first (the hull rule handles either order)
            return np.lexsort((-np.where(valid, value, -np.inf), key), axis=-1)
    return None


#: rows per block inside kernels: small enough that every temporary stays in cache, which on
#: a memory-bound machine is several times faster than whole-column numpy operations
BLOCK_ROWS = 16384


def upper_hulls(
    value: np.ndarray, cost: np.ndarray, valid: np.ndarray | None = None, *,
    keep_value: bool = True,
) -> Hulls:
    """Upper convex hull of (cost, value) for every unit (row) of a chunk.

    Parameters
    ----------
    value:
        (n, M) float64, ``-inf`` where the cell is unusable.
    cost:
        (n, M) float64, one budget's consumption.
    valid:
        optional (n, M) bool; default ``isfinite(value)``.
    keep_value:
        False drops ``d_value`` from the result (None) to save n(M-1) floats; callers then
        use ``efficiency * d_cost``.

    Returns
    -------
    Hulls
        Per unit: the hull start and the increments between consecutive hull points.

    With the options of a unit sorted by cost, option j is a hull point iff it is worth more
    than every cheaper option and ``min_{i<j} slope(i, j) > max_{k>j} slope(j, k)`` (j lies
    strictly above every chord i-k around it). That is M(M-1)/2 vectorised slope columns per
    block of rows, cheaper in numpy than a per-unit stack for M up to ~20. Collinear middle
    points are dropped (the LP is the same).
    """
    value = np.asarray(value, dtype=np.float64)
    cost = np.asarray(cost, dtype=np.float64)
    n, m = value.shape
    w = max(m - 1, 0)
    d_value = np.empty((n, w)) if keep_value else np.empty((0, w))
    d_cost = np.empty((n, w))
    efficiency = np.empty((n, w))
    start = np.empty(n, dtype=np.int16)
    start_value = np.empty(n)
    start_cost = np.empty(n)
    orders: list[tuple[int, int, np.ndarray]] = []
    blocks: Iterable[int] = range(0, n, BLOCK_ROWS)
    ck = compiled.kernels(value.size)
    if ck is not None and n:
        # the compiled row loop does every block in cost order; the others (rare: a row out
        # of cost order) go through the numpy kernel below, which sorts them
        blocks = ck.hull_sorted_blocks(
            value, cost, np.ones((1, 1), dtype=bool) if valid is None else np.asarray(valid, bool),
            valid is not None, BLOCK_ROWS, keep_value, d_value, d_cost, efficiency, start,
            start_value, start_cost,
        ).tolist()
    for a in blocks:
        b = min(n, a + BLOCK_ROWS)
        dv_out = d_value[a:b] if keep_value else np.empty((b - a, w))
        o = _hull_block(
            value[a:b], cost[a:b], None if valid is None else valid[a:b],
            dv_out, d_cost[a:b], efficiency[a:b], start[a:b], start_value[a:b],
            start_cost[a:b],
        )
        if o is not None:
            orders.append((a, b, o))
    order = None
    if orders:
        order = np.tile(np.arange(m, dtype=np.int64), (n, 1))
        for a, b, o in orders:
            order[a:b] = o
    return Hulls(
        order=order, start=start, d_value=d_value if keep_value else None, d_cost=d_cost,
        efficiency=efficiency,
        start_value=start_value, start_cost=start_cost,
    )


def _hull_block(
    value: np.ndarray, cost: np.ndarray, valid: np.ndarray | None,
    d_value: np.ndarray, d_cost: np.ndarray, efficiency: np.ndarray,
    start: np.ndarray, start_value: np.ndarray, start_cost: np.ndarray,
) -> np.ndarray | None:
    """Fill the output slices for one block of rows; return the block's cost order (or None)."""
    n, m = value.shape
    if valid is None:
        valid = np.isfinite(value)
    order = _cost_order(value, cost, valid)
    if order is None:
        vs, cs, ok = value.T, cost.T, valid.T
    else:
        vs = np.take_along_axis(value, order, axis=1).T
        cs = np.take_along_axis(cost, order, axis=1).T
        ok = np.take_along_axis(valid, order, axis=1).T
    ragged = not bool(ok.all())
    vs = np.ascontiguousarray(np.where(ok, vs, -np.inf) if ragged else vs)
    cs = np.ascontiguousarray(cs)
    strict = not ragged and bool(np.all(cs[1:] > cs[:-1]))

    # lo[j] = min_{i<j} slope(i, j); hi[j] = max_{k>j} slope(j, k)
    lo = np.full((m, n), np.inf)
    hi = np.full((m, n), -np.inf)
    dv = np.empty(n)
    dc = np.empty(n)
    slope = np.empty(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(m):
            for j in range(i + 1, m):
                np.subtract(vs[j], vs[i], out=dv)
                np.subtract(cs[j], cs[i], out=dc)
                np.divide(dv, dc, out=slope)
                if not strict:
                    # equal cost: the more valuable dominates (slope +inf), else -inf
                    flat = ~(dc > 0)
                    slope[flat] = np.where(dv[flat] > 0, np.inf, -np.inf)
                    if ragged:
                        both = ok[i] & ok[j]
                        np.minimum(lo[j], np.where(both, slope, np.inf), out=lo[j])
                        np.maximum(hi[i], np.where(both, slope, -np.inf), out=hi[i])
                        continue
                np.minimum(lo[j], slope, out=lo[j])
                np.maximum(hi[i], slope, out=hi[i])
    best_before = np.full(n, -np.inf)
    seen = np.zeros(n, dtype=bool)
    st = np.full(n, -1, dtype=np.int64)
    prev_v = np.zeros(n)
    prev_c = np.zeros(n)
    for j in range(m):
        on = ok[j] & (vs[j] > best_before) & (lo[j] > hi[j])
        np.maximum(best_before, vs[j], out=best_before)
        if j > 0:
            inc = on & seen
            d_value[:, j - 1] = np.where(inc, vs[j] - prev_v, 0.0)
            d_cost[:, j - 1] = np.where(inc, cs[j] - prev_c, 0.0)
        first = on & ~seen
        st[first] = j
        np.copyto(prev_v, vs[j], where=on)
        np.copyto(prev_c, cs[j], where=on)
        seen |= on
    start[:] = st
    has = st >= 0
    rows = np.arange(n)
    s0 = np.maximum(st, 0)
    start_value[:] = np.where(has, vs[s0, rows], 0.0)
    start_cost[:] = np.where(has, cs[s0, rows], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        eff = d_value / d_cost
    eff[~(d_cost > 0)] = PAD_EFFICIENCY
    efficiency[:] = eff
    return order


def row_min(a: np.ndarray) -> np.ndarray:
    """``a.min(axis=1)`` of an (n, M) array, column by column: the same values (a minimum is
    exact, NaN propagates), several times faster than numpy's reduction over a short axis."""
    m = a.shape[1]
    if m == 0:
        return a.min(axis=1)
    ck = compiled.kernels(a.size)
    if ck is not None and a.dtype == np.float64:
        res = np.empty(a.shape[0])
        ck.row_min(a, res)
        return res
    out = np.array(a[:, 0], dtype=a.dtype)
    for j in range(1, m):
        np.minimum(out, a[:, j], out=out)
    return out


def sorted_choice_at(hulls: Hulls, lam: float) -> np.ndarray:
    """(n,) sorted column chosen at multiplier ``lam``: the last hull point whose increment has
    efficiency > lam (the start if none)."""
    eff = hulls.efficiency
    ck = compiled.kernels(eff.size)
    if ck is not None:
        out = np.empty(hulls.n_units, dtype=np.int64)
        ck.sorted_choice_at(hulls.start, eff, float(lam), out)
        return out
    col = hulls.start.astype(np.int64)
    for j in range(1, eff.shape[1] + 1):
        np.copyto(col, j, where=eff[:, j - 1] > lam)
    return col


def d_value_of(hulls: Hulls) -> np.ndarray:
    if hulls.d_value is not None:
        return hulls.d_value
    with np.errstate(invalid="ignore"):  # padding: -inf * 0
        return np.where(hulls.d_cost > 0, hulls.efficiency * hulls.d_cost, 0.0)


@dataclass(frozen=True)
class IncrementSums:
    """Sums over hull increments with efficiency > each threshold (one entry per threshold)."""

    cost: np.ndarray
    value: np.ndarray
    count: np.ndarray


def increments_above(hulls: Hulls, thresholds: np.ndarray) -> IncrementSums:
    """For each threshold t: sums of d_cost, d_value and the count of increments with eff > t.

    ``thresholds`` must be sorted ascending. One pass (a searchsorted and three bincounts):
    this is the histogram of breakpoints that a distributed round reduces. The spend at a
    multiplier t is ``start_cost.sum() + cost[t]``.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    eff = hulls.efficiency.reshape(-1)
    real = eff > PAD_EFFICIENCY
    e = eff[real]
    # bin b counts increments with t[b-1] < eff <= t[b]; eff > t[i] <=> bin > i
    b = np.searchsorted(t, e, side="left")
    nb = t.size + 1
    wc = np.bincount(b, weights=hulls.d_cost.reshape(-1)[real], minlength=nb)
    dv = d_value_of(hulls).reshape(-1)
    wv = np.bincount(b, weights=dv[real], minlength=nb)
    cnt = np.bincount(b, minlength=nb)

    def above(w: np.ndarray) -> np.ndarray:
        # sum over bins > i, for i = 0..T-1
        return np.cumsum(w[::-1])[::-1][1:]

    return IncrementSums(cost=above(wc), value=above(wv), count=above(cnt).astype(np.int64))


@dataclass(frozen=True)
class Increments:
    """Flat list of hull increments: efficiency, d_cost, d_value, unit (row in chunk), step."""

    efficiency: np.ndarray
    d_cost: np.ndarray
    d_value: np.ndarray
    unit: np.ndarray
    step: np.ndarray


def increments_between(hulls: Hulls, lo: float, hi: float) -> Increments:
    """The increments with ``lo < efficiency <= hi`` (to finish a selection exactly).

    ``step`` is the sorted column where the increment ends (see :class:`Hulls`)."""
    eff = hulls.efficiency
    mask = (eff > lo) & (eff <= hi)
    unit, step = np.nonzero(mask)
    return Increments(
        efficiency=eff[unit, step], d_cost=hulls.d_cost[unit, step],
        d_value=d_value_of(hulls)[unit, step], unit=unit.astype(np.int64),
        step=step.astype(np.int64),
    )


@dataclass(frozen=True)
class Choice:
    """The Lagrangian choice of a chunk at one multiplier vector."""

    index: np.ndarray
    """(n,) chosen column per unit (-1 for a unit without usable options)."""
    value: float
    """sum of the chosen values"""
    spend: np.ndarray
    """(K,) sum of the chosen costs per budget"""
    lagrangian: float
    """sum_i max_j (v_ij - lam . c_ij): the chunk's part of the dual function"""


def lagrangian_choice(
    value: np.ndarray,
    costs: np.ndarray,
    lam: np.ndarray | float,
    *,
    tie: str = "low",
) -> Choice:
    """Per unit ``argmax_j v_ij - lam . c_ij`` and the chunk sums at that choice.

    Parameters
    ----------
    value:
        (n, M), ``-inf`` for unusable cells.
    costs:
        (n, M) for one budget or (K, n, M).
    lam:
        scalar or (K,) multipliers (>= 0).
    tie:
        among exactly tied options take the one of least (``"low"``) or greatest (``"high"``)
        weighted cost ``lam . c``: the two ends of the subdifferential of the dual.

    The dual function is ``lam . B + sum over chunks of Choice.lagrangian``; for any lam >= 0 it
    is an upper bound on the optimum (weak duality).
    """
    value = np.asarray(value, dtype=np.float64)
    c = np.asarray(costs, dtype=np.float64)
    if c.ndim == 2:
        c = c[None]
    lam_v = np.atleast_1d(np.asarray(lam, dtype=np.float64))
    n = value.shape[0]
    idx = np.empty(n, dtype=np.int64)
    total_v = 0.0
    total_l = 0.0
    spend = np.zeros(c.shape[0])
    ck = compiled.kernels(value.size * c.shape[0])
    if ck is not None and tie in ("low", "high"):
        # the per-row argmax compiled, with the chosen cells packed as it goes; the sums are
        # numpy's over the same numbers in the same order as the numpy kernel's gather
        best = np.empty(min(n, BLOCK_ROWS))
        best_v = np.empty_like(best)
        # (block, R): numpy's fancy gather is laid out so, and its sum's order follows the layout
        spent = np.empty((best.size, c.shape[0]))
        for a in range(0, n, BLOCK_ROWS):
            b = min(n, a + BLOCK_ROWS)
            got = ck.choice_block(value, c, lam_v, tie == "low", a, b, idx, best, best_v, spent)
            if got:
                spend += spent[:got].T.sum(axis=1)
            total_v += float(best_v[:got].sum())
            total_l += float(best[:got].sum())
        return Choice(index=idx, value=total_v, spend=spend, lagrangian=total_l)
    for a in range(0, n, BLOCK_ROWS):
        b = min(n, a + BLOCK_ROWS)
        v_sum, l_sum = _choice_block(value[a:b], c[:, a:b], lam_v, tie, idx[a:b], spend)
        total_v += v_sum
        total_l += l_sum
    return Choice(index=idx, value=total_v, spend=spend, lagrangian=total_l)


def _block_sums(
    c: np.ndarray, idx: np.ndarray, best: np.ndarray, best_v: np.ndarray, spend: np.ndarray
) -> tuple[float, float]:
    """The chosen cells' spend (added to ``spend``), value and score sums of one block."""
    has = idx >= 0
    rows = np.flatnonzero(has)
    if rows.size:
        spend += c[:, rows, idx[rows]].sum(axis=1)
    return float(best_v[has].sum()), float(best[has].sum())


def _choice_block(
    value: np.ndarray, c: np.ndarray, lam_v: np.ndarray, tie: str, idx: np.ndarray,
    spend: np.ndarray,
) -> tuple[float, float]:
    n, m = value.shape
    vt = np.ascontiguousarray(value.T)
    ct = np.ascontiguousarray(c.transpose(0, 2, 1))
    best = np.full(n, -np.inf)
    best_w = np.zeros(n)
    best_v = np.zeros(n)
    idx[:] = -1
    w = np.empty(n)
    score = np.empty(n)
    for j in range(m):
        np.multiply(ct[0, j], lam_v[0], out=w)
        for k in range(1, c.shape[0]):
            w += lam_v[k] * ct[k, j]
        vj = vt[j]
        np.subtract(vj, w, out=score)
        if tie == "low":
            better = (score > best) | ((score == best) & (w < best_w))
        else:
            better = (score > best) | ((score == best) & (w > best_w))
        better &= vj > -np.inf
        idx[better] = j
        np.copyto(best, score, where=better)
        np.copyto(best_w, w, where=better)
        np.copyto(best_v, vj, where=better)
    return _block_sums(c, idx, best, best_v, spend)


def dual_value(value: np.ndarray, costs: np.ndarray, lam: np.ndarray | float) -> float:
    """sum_i max_j (v_ij - lam . c_ij) of a chunk (without the lam . B term)."""
    return lagrangian_choice(value, costs, lam).lagrangian
