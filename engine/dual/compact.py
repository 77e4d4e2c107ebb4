"""The one-budget LP on a compact hull: a bit mask per unit instead of the increment arrays.

engine.dual.kernels.upper_hulls stores every unit's increments (d_cost and efficiency, (n, M-1)
float64 each: 640 MB at 10^7 x 5). Writing that much fresh memory is most of the hull's time
on a loaded machine (page faults), and every later pass reads it back. With the compiled
kernels (engine/dual/compiled.py) the one-budget solve keeps instead, per unit, the bit mask of
its hull points and its start (4 bytes), plus the start's value and cost; each pass recomputes
a unit's increments from value and cost with the same operations upper_hulls uses
(``numba_kernels._row_increments``), so every increment, and so the selection, the multiplier
and the allocation, are bit for bit those of the stored hulls.

Only the bracket selection runs here (``method="sort"`` and the rare cases below fall back
to the stored hulls): units out of cost order (the hull needs a column order), more than 16
options, and a budget that every increment might fit (where the stored path's own sum
decides).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.dual import compiled
from engine.dual.kernels import BLOCK_ROWS
from engine.dual.select import CHUNK, Critical, bracket_select

#: widest unit the mask holds (uint16, bit j = sorted column j)
MAX_OPTIONS = 16


@dataclass(frozen=True, eq=False)
class CompactHull:
    """The hulls of every unit as masks over the (cost-sorted) columns of ``value``/``cost``.

    ``mask`` (n,) uint16: bit j set when column j is a hull point after the start; ``start``
    (n,) int16 (-1: no usable option); ``start_value``, ``start_cost`` (n,) as in Hulls;
    ``cost_sum``, ``cost_abs_sum``: plain float sums of the increments' d_cost and |d_cost|.
    """

    value: np.ndarray
    cost: np.ndarray
    valid: np.ndarray | None
    mask: np.ndarray
    start: np.ndarray
    start_value: np.ndarray
    start_cost: np.ndarray
    cost_sum: float
    cost_abs_sum: float

    @property
    def width(self) -> int:
        return int(self.value.shape[1]) - 1

    @property
    def size(self) -> int:
        """Number of flat increments (n * (M-1)), as Hulls.efficiency.size."""
        return int(self.value.shape[0]) * self.width

    def _args(self) -> tuple[Any, ...]:
        valid = np.ones((1, 1), dtype=bool) if self.valid is None else self.valid
        return (self.value, self.cost, valid, self.valid is not None, self.mask, self.start)


def compact_hull(
    value: np.ndarray, cost: np.ndarray, valid: np.ndarray | None
) -> CompactHull | None:
    """The compact hull, or None where it does not apply (no compiled kernels, fewer than 2 or
    more than MAX_OPTIONS columns, or a unit whose costs are not sorted)."""
    ck = compiled.kernels(value.size)
    n, m = value.shape
    if ck is None or not 2 <= m <= MAX_OPTIONS or n == 0:
        return None
    value = np.ascontiguousarray(value, dtype=np.float64)
    cost = np.ascontiguousarray(cost, dtype=np.float64)
    valid = None if valid is None else np.ascontiguousarray(valid, dtype=bool)
    mask = np.empty(n, dtype=np.uint16)
    start = np.empty(n, dtype=np.int16)
    start_value = np.empty(n)
    start_cost = np.empty(n)
    ok, total, total_abs = ck.hull_mask_blocks(
        value, cost, np.ones((1, 1), dtype=bool) if valid is None else valid, valid is not None,
        BLOCK_ROWS, mask, start, start_value, start_cost)
    if not ok:
        return None
    return CompactHull(value, cost, valid, mask, start, start_value, start_cost, float(total),
                       float(total_abs))


class _Increments:
    """The flat increments of a compact hull at any positions, computed on demand; the last
    pass's bracket (every position _finish asks for) is kept, so that those are looked up."""

    def __init__(self, hull: CompactHull) -> None:
        self.hull = hull
        self.size = hull.size
        self.kept = np.zeros(0, np.int64)  # increasing positions
        self.kept_values = np.zeros((3, 0))
        self.last: tuple[np.ndarray, np.ndarray] | None = None
        self.col = np.empty(0, np.int64)
        self.col_at = np.nan

    def compute(self, flat: np.ndarray) -> np.ndarray:
        """(3, k): efficiency, d_cost, the product d_value at the int64 positions ``flat``."""
        if self.last is not None and self.last[0] is flat:
            return self.last[1]
        if flat is self.kept:
            return self.kept_values
        if flat.size and (int(flat.min()) < 0 or int(flat.max()) >= self.size):
            raise IndexError(f"increment index out of range 0..{self.size - 1}")
        if self.kept.size and flat.size:
            at = np.minimum(np.searchsorted(self.kept, flat), self.kept.size - 1)
            if np.array_equal(self.kept[at], flat):
                out = self.kept_values[:, at]
                self.last = (flat, out)
                return out
        out = np.empty((3, flat.size))
        ck = compiled.kernels()
        assert ck is not None
        ck.compact_at(*self.hull._args(), flat, out[0], out[1], out[2])
        self.last = (flat, out)
        return out

    def scan(self, lo: float, hi: float) -> tuple[float, float, np.ndarray]:
        """engine.dual.select._pass over the compact hull: the same chunks, the same selected
        elements in the same order, summed by numpy, so the same bits. Keeps the bracket's
        increments, and every unit's choice at ``hi`` in ``col``."""
        ck = compiled.kernels()
        assert ck is not None
        args = self.hull._args()
        size = self.size
        w_up = np.empty(min(CHUNK, size))
        v_up = np.empty_like(w_up)
        mid = np.empty(w_up.size, dtype=np.int64)
        if self.col.size == 0:
            self.col = np.empty(self.hull.value.shape[0], dtype=np.int64)
        with_hi = hi < np.inf
        w_hi = 0.0
        v_hi = 0.0
        mids = []
        for a in range(0, size, CHUNK):
            b = min(size, a + CHUNK)
            n_up, n_mid = ck.compact_chunk(*args, a, b, lo, hi, with_hi, w_up, v_up, mid,
                                           self.col)
            if with_hi:
                w_hi += float(w_up[:n_up].sum())
                v_hi += float(v_up[:n_up].sum())
            if n_mid:
                mids.append(mid[:n_mid] + a)
        self.col_at = hi
        found = np.concatenate(mids) if mids else np.zeros(0, np.int64)
        self.kept = np.zeros(0, np.int64)
        self.kept_values = self.compute(found)
        self.kept = found
        return w_hi, v_hi, found


class _Field:
    """One field of the flat increments (0 efficiency, 1 d_cost, 2 the product d_value) as
    ``x[idx]``, for engine.dual.select.bracket_select."""

    def __init__(self, inc: _Increments, which: int) -> None:
        self.inc, self.which = inc, which
        self.size = inc.size

    def __getitem__(self, idx: Any) -> Any:
        flat = idx if isinstance(idx, np.ndarray) and idx.dtype == np.int64 else \
            np.asarray(idx, dtype=np.int64)
        if flat.ndim == 0:
            return self.inc.compute(flat.reshape(1))[self.which][0]
        return self.inc.compute(flat)[self.which]


def select_compact(
    hull: CompactHull, budget: float, *, sample: int = 100_000, seed: int = 0
) -> tuple[Critical, np.ndarray] | None:
    """engine.dual.select.select_critical (``method="bracket"``) on the compact hull and the
    columns of engine.dual.one_budget.lp_columns at it, or None when the budget might hold
    every increment (then the caller runs the stored path, whose exact sum decides that
    case)."""
    # both the hull's sum and numpy's pairwise sum are within n eps sum|d| of the exact sum:
    # beyond twice that above the budget, select_critical's ``total <= budget`` is False
    margin = 2.0 * hull.size * np.finfo(np.float64).eps * hull.cost_abs_sum
    if not hull.cost_sum - margin > budget:
        return None
    inc = _Increments(hull)
    crit = bracket_select(_Field(inc, 0), _Field(inc, 1), _Field(inc, 2), budget, inc.scan,
                          sample=sample, seed=seed)
    if crit.above == inc.col_at:
        col = inc.col  # the last pass's choice at its upper end, which is crit.above
    else:  # pragma: no cover - bracket_select's answer comes from its last pass
        col = np.empty(hull.value.shape[0], dtype=np.int64)
        ck = compiled.kernels()
        assert ck is not None
        ck.compact_choice_at(*hull._args(), float(crit.above), BLOCK_ROWS, col)
    return crit, _with_taken(hull, crit, col)


def _with_taken(hull: CompactHull, crit: Critical, col: np.ndarray) -> np.ndarray:
    """engine.dual.one_budget.lp_columns from the choice at ``crit.above``: every taken
    increment of the bracket too (the columns are the options: no order on this path)."""
    if crit.taken.size:
        unit, step = np.divmod(crit.taken, hull.width)
        np.maximum.at(col, unit, step + 1)
    return col
