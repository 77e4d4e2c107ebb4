"""Weighted selection: the critical hull increment of a one-budget LP without a full sort.

Taking hull increments in decreasing efficiency until their cost reaches the residual budget W
solves the one-budget LP (Sinha & Zoltners 1979); the increment that crosses W is the fractional
one and its efficiency is the optimal multiplier. Only the increments near the crossing need to
be in order. ``method="bracket"`` (default) estimates the crossing from a random sample of the
increments, brackets it between two efficiencies (Floyd-Rivest style), sums everything above
the bracket in one chunked pass and sorts only the bracket: O(NM) with a small constant, the
weighted selection of Dyer (1984) / Zemel (1984) as numpy passes. ``method="sort"`` sorts all
increments (O(NM log NM)); it is kept to measure against and for the budget frontier, which
needs the whole order anyway. :func:`partial_order` is the same idea for many budgets at once
(a budget sweep): the increments in an order that is exact only around every budget's cut.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.dual import compiled

#: elements per chunk of the flat passes (keeps the boolean temporaries in cache)
CHUNK = 1 << 18


@dataclass(frozen=True)
class Critical:
    """Where the budget runs out in the decreasing-efficiency order of the increments.

    Every increment with efficiency > ``above`` is taken; of the rest, exactly the flat indices
    in ``taken`` are taken too. ``critical`` is the flat index of the fractional increment
    (-1 when everything fits: then ``lam`` is 0), taken to the extent ``fraction`` in [0, 1).
    """

    lam: float
    above: float
    taken: np.ndarray
    critical: int
    fraction: float
    cost_taken: float
    value_taken: float
    """d_value of all taken increments plus ``fraction`` of the critical one"""
    bracket_size: int
    passes: int


def select_critical(
    efficiency: np.ndarray,
    d_cost: np.ndarray,
    d_value: np.ndarray | None,
    budget: float,
    *,
    method: str = "bracket",
    sample: int = 100_000,
    seed: int = 0,
) -> Critical:
    """Find the critical increment for residual budget ``budget`` (>= 0).

    Parameters are arrays of equal size (padding: efficiency -inf, costs 0); ``d_value`` None
    means efficiency * d_cost.
    """
    eff = efficiency.reshape(-1)
    w = d_cost.reshape(-1)
    dv = _Product(eff, w) if d_value is None else d_value.reshape(-1)
    total = float(w.sum())
    if total <= budget:
        return Critical(0.0, -np.inf, np.zeros(0, np.int64), -1, 0.0, total, float(dv.sum()),
                        0, 1)
    if method == "sort":
        return _finish(eff, w, dv, budget, np.flatnonzero(eff > -np.inf), np.inf, 0.0, 0.0, 1)
    if method != "bracket":
        raise ValueError(f"method: expected 'bracket' or 'sort', got {method!r}")
    return bracket_select(eff, w, dv, budget, lambda lo, hi: _pass(eff, w, dv, lo, hi),
                          sample=sample, seed=seed)


def bracket_select(
    eff: Any, w: Any, dv: Any, budget: float,
    pass_fn: Callable[[float, float], tuple[float, float, np.ndarray]],
    *, sample: int = 100_000, seed: int = 0,
) -> Critical:
    """The bracket method of :func:`select_critical` once ``sum(w) > budget`` is known.

    ``eff``, ``w``, ``dv``: the flat increments, as arrays or as objects that give the
    elements at an index array (``x[idx]``, ``x.size``) such as engine.dual.compact's, which
    computes them from a compact hull; ``pass_fn(lo, hi)`` is :func:`_pass` over them.
    """
    rng = np.random.default_rng(seed)
    size = eff.size
    idx = rng.integers(0, size, size=min(sample, size))
    es, ws = eff[idx], w[idx]
    keep = es > -np.inf
    es, ws = es[keep], ws[keep]
    order = np.argsort(-es, kind="stable")
    es, ws = es[order], ws[order]
    cum = np.cumsum(ws) * (size / max(idx.size, 1))
    pos = int(np.searchsorted(cum, budget))
    margin = int(4.0 * np.sqrt(pos + 1)) + 20
    hi = float(es[pos - margin]) if pos - margin >= 0 else np.inf
    lo = float(es[pos + margin]) if pos + margin < es.size else -np.inf
    passes = 0
    while True:
        passes += 1
        w_hi, v_hi, mid = pass_fn(lo, hi)
        if w_hi > budget:
            # the crossing lies above the bracket: move the bracket up
            lo, hi = hi, np.inf
            continue
        w_mid = float(w[mid].sum())
        if w_hi + w_mid <= budget and lo > -np.inf:
            lo, hi = -np.inf, lo
            continue
        return _finish(eff, w, dv, budget, mid, hi, w_hi, v_hi, passes)


class _Product:
    """d_value as efficiency * d_cost, computed on demand for the elements asked for."""

    def __init__(self, eff: np.ndarray, w: np.ndarray) -> None:
        self.eff, self.w = eff, w

    def __getitem__(self, idx: Any) -> np.ndarray:
        e, c = self.eff[idx], self.w[idx]
        with np.errstate(invalid="ignore"):  # padding: -inf * 0
            return np.where(c > 0, e * c, 0.0)

    def sum(self) -> float:
        total = 0.0
        for a in range(0, self.eff.size, CHUNK):
            total += float(self[slice(a, a + CHUNK)].sum())
        return total


def _pass(
    eff: np.ndarray, w: np.ndarray, dv: np.ndarray | _Product, lo: float, hi: float
) -> tuple[float, float, np.ndarray]:
    """Sum cost and value above ``hi``; flat indices with lo < eff <= hi."""
    ck = compiled.kernels(eff.size)
    if ck is not None:
        return _pass_compiled(ck, eff, w, dv, lo, hi)
    w_hi = 0.0
    v_hi = 0.0
    mids = []
    for a in range(0, eff.size, CHUNK):
        e = eff[a:a + CHUNK]
        up = e > hi
        if hi < np.inf:
            w_hi += float(w[a:a + CHUNK][up].sum())
            v_hi += float(dv[a:a + CHUNK][up].sum())
        m = np.flatnonzero((e > lo) & ~up)
        if m.size:
            mids.append(m + a)
    mid = np.concatenate(mids) if mids else np.zeros(0, np.int64)
    return w_hi, v_hi, mid


def _pass_compiled(
    ck: Any, eff: np.ndarray, w: np.ndarray, dv: np.ndarray | _Product, lo: float, hi: float
) -> tuple[float, float, np.ndarray]:
    """:func:`_pass` with one compiled loop per chunk; the same chunks, and numpy sums over
    the same selected elements in the same order, so the same bits."""
    w_hi = 0.0
    v_hi = 0.0
    mids = []
    product = isinstance(dv, _Product)
    dv_arr = eff[:0] if isinstance(dv, _Product) else dv
    w_up = np.empty(min(CHUNK, eff.size))
    v_up = np.empty_like(w_up)
    mid = np.empty(w_up.size, dtype=np.int64)
    with_hi = hi < np.inf
    for a in range(0, eff.size, CHUNK):
        n_up, n_mid = ck.bracket_chunk(
            eff[a:a + CHUNK], w[a:a + CHUNK], dv_arr if product else dv_arr[a:a + CHUNK],
            product, lo, hi, with_hi, w_up, v_up, mid,
        )
        if with_hi:
            w_hi += float(w_up[:n_up].sum())
            v_hi += float(v_up[:n_up].sum())
        if n_mid:
            mids.append(mid[:n_mid] + a)
    return w_hi, v_hi, np.concatenate(mids) if mids else np.zeros(0, np.int64)


def _finish(
    eff: np.ndarray, w: np.ndarray, dv: np.ndarray | _Product, budget: float, mid: np.ndarray,
    above: float, w_hi: float, v_hi: float, passes: int,
) -> Critical:
    """Sort the bracket and cut it where the cumulative cost crosses ``budget``.

    The bracket's increments are gathered once (``eff[mid]``, ``w[mid]``, ``dv[mid]``) and
    indexed locally from then on: the same values in the same order as indexing ``eff``,
    ``w``, ``dv`` by the sorted flat positions, without a second gather.
    """
    em, wm, dm = eff[mid], w[mid], dv[mid]
    loc = np.argsort(-em, kind="stable")
    order = mid[loc]
    cum = w_hi + np.cumsum(wm[loc])
    t = int(np.searchsorted(cum, budget, side="right"))
    taken = order[:t]
    cost_taken = float(cum[t - 1]) if t else w_hi
    value_taken = v_hi + float(dm[loc[:t]].sum())
    if t >= order.size:  # pragma: no cover - excluded by the caller's total check
        return Critical(0.0, above, taken, -1, 0.0, cost_taken, value_taken, mid.size, passes)
    crit = int(order[t])
    c = int(loc[t])
    frac = (budget - cost_taken) / float(wm[c])
    return Critical(
        lam=float(em[c]), above=above, taken=taken, critical=crit, fraction=frac,
        cost_taken=cost_taken, value_taken=value_taken + frac * float(dm[c]),
        bracket_size=int(mid.size), passes=passes,
    )


#: low bits of a positive float64 dropped to form a bucket key: 2**8 buckets per octave, so
#: the efficiencies inside one bucket differ by less than 0.4 %
BUCKET_SHIFT = 44


@dataclass(frozen=True, eq=False)
class PartialOrder:
    """Increments in decreasing efficiency, exact only where budgets are cut.

    ``order`` (flat indices of every real increment) runs through efficiency buckets from the
    most to the least efficient; inside a bucket the order is arbitrary, except on the
    ``sorted_spans`` ([start, end) positions), which are sorted by decreasing efficiency (stable,
    so ties keep the flat order, as a full stable sort would). Every increment of an earlier
    bucket is strictly more efficient than every increment of a later one, so a prefix of
    ``order`` that ends inside a sorted span is a prefix of the full decreasing order.
    """

    order: np.ndarray
    sorted_spans: np.ndarray
    """(S, 2) int64 [start, end) positions of the sorted stretches, increasing"""
    n_sorted: int
    cost_before: np.ndarray
    """(S,) total d_cost of the increments before each sorted span"""
    value_before: np.ndarray
    """(S,) total d_value of the increments before each sorted span"""


def partial_order(
    efficiency: np.ndarray, d_cost: np.ndarray, residuals: np.ndarray, *, after: int = 0,
    d_value: np.ndarray | None = None,
) -> PartialOrder:
    """Order the increments just enough to cut at every residual budget in ``residuals``.

    The multi-point weighted selection: the real efficiencies (all > 0) are bucketed by the
    high bits of their float64 pattern (monotone for positive floats), one weighted bincount
    gives the cost of every bucket, its cumulative sum locates the bucket where each residual
    is crossed, and only those buckets (with one neighbour each side, against rounding at the
    bucket edges, and the buckets holding the ``after`` increments that follow the cut) are
    sorted. Grouping the increments by segment (alternate runs of sorted and unsorted buckets)
    is one stable radix argsort of a uint8 key; nothing of size NM is sorted by value. With
    more than 255 segments (or efficiencies that are not positive and finite) it falls back to
    one full sort. Whether each cut really fell inside a sorted span is for the caller to
    check on its own prefix sums (``cost_before`` and a cumulative sum over each span).
    """
    eff = efficiency.reshape(-1)
    w = d_cost.reshape(-1)
    real = np.flatnonzero(eff > -np.inf)
    e = eff[real]
    if e.size == 0 or not bool(e.min() > 0.0) or not bool(np.isfinite(e).all()):
        return _full(real, e)
    dv = _Product(eff, w) if d_value is None else d_value.reshape(-1)
    key = e.view(np.int64) >> BUCKET_SHIFT
    kmax = int(key.max())
    b = kmax - key  # bucket 0 = the most efficient
    del key
    nb = int(b.max()) + 1
    bucket_cost = np.bincount(b, weights=w[real], minlength=nb)
    bucket_value = np.bincount(b, weights=dv[real], minlength=nb)
    cum = np.cumsum(bucket_cost)
    res = np.asarray(residuals, dtype=np.float64)
    hit = np.searchsorted(cum, res[(res >= 0) & (res < cum[-1])], side="right")
    last = hit
    if after > 0:
        count = np.cumsum(np.bincount(b, minlength=nb))
        last = np.searchsorted(count, count[np.minimum(hit, nb - 1)] + after, side="left")
    marked = np.zeros(nb + 2, dtype=bool)  # index shifted by one: buckets -1 .. nb
    for h, z in zip(hit.tolist(), np.minimum(last, nb).tolist(), strict=True):
        marked[h:z + 3] = True  # buckets h-1 .. z+1
    marked = marked[1:-1]
    # segments: each run of marked buckets one sorted segment, each run of unmarked one other
    starts = np.flatnonzero(np.diff(np.concatenate([[-1], marked.astype(np.int8)])) != 0)
    if starts.size > 255:
        return _full(real, e)
    del e
    first = np.zeros(nb, dtype=np.int64)
    first[starts] = 1
    seg_of_bucket = (np.cumsum(first) - 1).astype(np.uint8)
    seg = seg_of_bucket[b]
    del b
    grouped = np.argsort(seg, kind="stable")
    counts = np.bincount(seg, minlength=starts.size)
    del seg
    # segment sums from the bucket sums (segments are runs of whole buckets)
    cost_before = np.concatenate([[0.0], np.cumsum(np.add.reduceat(bucket_cost, starts))])
    value_before = np.concatenate([[0.0], np.cumsum(np.add.reduceat(bucket_value, starts))])
    order = real[grouped]
    del grouped
    bounds = np.concatenate([[0], np.cumsum(counts)])
    spans = []
    before: list[tuple[float, float]] = []
    n_sorted = 0
    for s in range(starts.size):
        if not marked[starts[s]]:
            continue
        a, z = int(bounds[s]), int(bounds[s + 1])
        if z > a:
            part = order[a:z]
            order[a:z] = part[np.argsort(-eff[part], kind="stable")]
            spans.append((a, z))
            before.append((float(cost_before[s]), float(value_before[s])))
            n_sorted += z - a
    sums = np.array(before, dtype=np.float64).reshape(-1, 2)
    return PartialOrder(order, np.array(spans, dtype=np.int64).reshape(-1, 2), n_sorted,
                        sums[:, 0].copy(), sums[:, 1].copy())


def _full(real: np.ndarray, e: np.ndarray) -> PartialOrder:
    order = real[np.argsort(-e, kind="stable")]
    return PartialOrder(order, np.array([[0, order.size]], dtype=np.int64), int(order.size),
                        np.zeros(1), np.zeros(1))
