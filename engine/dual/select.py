"""Weighted selection: the critical hull increment of a one-budget LP without a full sort.

Taking hull increments in decreasing efficiency until their cost reaches the residual budget W
solves the one-budget LP (Sinha & Zoltners 1979); the increment that crosses W is the fractional
one and its efficiency is the optimal multiplier. Only the increments near the crossing need to
be in order. ``method="bracket"`` (default) estimates the crossing from a random sample of the
increments, brackets it between two efficiencies (Floyd-Rivest style), sums everything above
the bracket in one chunked pass and sorts only the bracket: O(NM) with a small constant, the
weighted selection of Dyer (1984) / Zemel (1984) as numpy passes. ``method="sort"`` sorts all
increments (O(NM log NM)); it is kept to measure against and for the budget frontier, which
needs the whole order anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

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
        w_hi, v_hi, mid = _pass(eff, w, dv, lo, hi)
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


def _finish(
    eff: np.ndarray, w: np.ndarray, dv: np.ndarray | _Product, budget: float, mid: np.ndarray,
    above: float, w_hi: float, v_hi: float, passes: int,
) -> Critical:
    """Sort the bracket and cut it where the cumulative cost crosses ``budget``."""
    order = mid[np.argsort(-eff[mid], kind="stable")]
    cum = w_hi + np.cumsum(w[order])
    t = int(np.searchsorted(cum, budget, side="right"))
    taken = order[:t]
    cost_taken = float(cum[t - 1]) if t else w_hi
    value_taken = v_hi + float(dv[taken].sum())
    if t >= order.size:  # pragma: no cover - excluded by the caller's total check
        return Critical(0.0, above, taken, -1, 0.0, cost_taken, value_taken, mid.size, passes)
    crit = int(order[t])
    frac = (budget - cost_taken) / float(w[crit])
    return Critical(
        lam=float(eff[crit]), above=above, taken=taken, critical=crit, fraction=frac,
        cost_taken=cost_taken, value_taken=value_taken + frac * float(dv[crit]),
        bracket_size=int(mid.size), passes=passes,
    )
