"""Spend leftover budget: a fill restricted to the moves that fit, for the dual engine's arrays.

After the integer allocation at the critical multiplier the leftover of each row is small, so
only few (unit, option) moves fit at all. They are found in one chunked pass over the columns;
the greedy rounds then work on that short candidate list only (the slack only shrinks, so a
move that did not fit never fits later). Any move is considered, not only hull moves.
"""

from __future__ import annotations

import numpy as np

from engine.dual.arrays import DualArrays
from engine.dual.kernels import BLOCK_ROWS


def row_slack(arr: DualArrays, cols: np.ndarray) -> np.ndarray:
    """Leftover of every dual row below its target limit (engine.dual.arrays)."""
    return arr.limits - arr.usage(cols)


def _candidates(
    arr: DualArrays, cols: np.ndarray, slack: np.ndarray, lam: np.ndarray | None = None,
    stats: dict[str, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(unit, column) of every move that gains value and fits every row on its own.

    With ``lam`` and ``stats``, the same pass also sums ``max_j (v_ij - lam . c_ij)`` over units
    into ``stats["lagrangian"]`` (the dual function without lam . limits), saving a data pass.
    """
    n, m = arr.value.shape
    units, opts = [], []
    lagr = 0.0
    r_rows = arr.n_rows
    for a in range(0, n, BLOCK_ROWS):
        b = min(n, a + BLOCK_ROWS)
        rows = np.arange(b - a)
        c = cols[a:b]
        # contiguous (M, rows) copies: every column operation below then streams from cache
        vt = np.ascontiguousarray(arr.value[a:b].T)
        ct = np.ascontiguousarray(arr.costs[:, a:b].transpose(0, 2, 1))
        okt = None if arr.valid is None else np.ascontiguousarray(arr.valid[a:b].T)
        cur_v = vt[c, rows]
        cur_c = ct[:, c, rows]
        best = np.full(b - a, -np.inf) if lam is not None else None
        for j in range(m):
            if best is not None and lam is not None:
                s = vt[j] - lam[0] * ct[0, j]
                for k in range(1, r_rows):
                    s -= lam[k] * ct[k, j]
                if okt is not None:
                    s[~okt[j]] = -np.inf
                np.maximum(best, s, out=best)
            ok = vt[j] > cur_v
            for k in range(r_rows):
                ok &= ct[k, j] - cur_c[k] <= slack[k]
            if okt is not None:
                ok &= okt[j]
            r = np.flatnonzero(ok)
            if r.size:
                units.append(r + a)
                opts.append(np.full(r.size, j, dtype=np.int64))
        if best is not None:
            lagr += float(best.sum())
    if stats is not None and lam is not None:
        stats["lagrangian"] = lagr
    if not units:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(units), np.concatenate(opts)


def fill(
    arr: DualArrays,
    cols: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    max_rounds: int = 100,
    bound_lam: np.ndarray | None = None,
    stats: dict[str, float] | None = None,
) -> np.ndarray:
    """Upgrade units while budget is left, best value gain per weighted extra cost first.

    ``cols`` must be within the targets; the result is too, and never worth less.
    ``weights`` (R,) default to 1 / limit. With ``bound_lam`` and ``stats`` the candidate
    pass also evaluates the dual function there (see ``_candidates``).
    """
    cols = np.array(cols, dtype=np.int64)
    slack = row_slack(arr, cols)
    if np.any(slack < 0):
        return cols
    if weights is None or not np.any(np.asarray(weights) > 0):
        weights = 1.0 / np.maximum(np.abs(arr.limits), 1e-12)
    w = np.maximum(np.asarray(weights, dtype=np.float64), 1e-12)
    units, opts = _candidates(arr, cols, slack, bound_lam, stats)
    for _ in range(max_rounds):
        if units.size == 0:
            break
        cur = cols[units]
        gain = arr.value[units, opts] - arr.value[units, cur]
        extra = arr.costs[:, units, opts] - arr.costs[:, units, cur]  # (R, C)
        ok = (gain > 0) & np.all(extra <= slack[:, None], axis=0)
        units, opts, gain, extra = units[ok], opts[ok], gain[ok], extra[:, ok]
        if units.size == 0:
            break
        wextra = w @ extra
        score = np.where(wextra > 0, gain / np.where(wextra > 0, wextra, 1.0), np.inf)
        order = np.lexsort((-gain, -score))
        # one move per unit: its best-scored candidate
        _, first = np.unique(units[order], return_index=True)
        pick = order[np.sort(first)]
        cum = np.cumsum(np.maximum(extra[:, pick], 0.0), axis=1)
        fits = np.all(cum <= slack[:, None], axis=0)
        k = int(np.argmin(fits)) if not fits.all() else fits.size
        take = pick[: max(k, 1)]
        cols[units[take]] = opts[take]
        slack = slack - extra[:, take].sum(axis=1)
    return cols


def repair(
    arr: DualArrays,
    cols: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    max_rounds: int = 100,
) -> np.ndarray:
    """Downgrade units until every row holds its target.

    Each round scores every unit's best downgrade by value lost per unit of weighted saving on
    the violated rows (weights: the multipliers, else 1 / limit), in one chunked pass, and
    applies the shortest prefix that covers the weighted excess. The project's one repair
    (engine.repair.repair calls it on an instance's dual arrays; capacities are rows), without
    full-size temporaries. The result may still be infeasible when no downgrade is left;
    callers check.
    """
    cols = np.array(cols, dtype=np.int64)
    if weights is None or not np.any(np.asarray(weights) > 0):
        weights = 1.0 / np.maximum(np.abs(arr.limits), 1e-12)
    w_all = np.maximum(np.asarray(weights, dtype=np.float64), 1e-12)
    for _ in range(max_rounds):
        excess = -row_slack(arr, cols)
        over = excess > 0
        if not over.any():
            break
        w = np.where(over, w_all, 0.0)
        ratio, best, save = downgrade_scores(arr, cols, w, excess)
        movable = np.flatnonzero(np.isfinite(ratio))
        if movable.size == 0:
            break
        need = float(w @ np.maximum(excess, 0.0))
        # the cheapest moves first, until their weighted saving covers the weighted excess
        order = movable[np.argsort(ratio[movable], kind="stable")]
        k = int(np.searchsorted(np.cumsum(save[order]), need)) + 1
        take = order[: min(k, order.size)]
        cols[take] = best[take]
    return cols


def downgrade_scores(
    arr: DualArrays, cols: np.ndarray, w: np.ndarray, excess: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every unit's best downgrade for :func:`repair`: (ratio, column, weighted saving).

    ``w`` (R,) weights the rows that hold over (``excess > 0``) and is 0 elsewhere. The ratio is
    value lost per weighted saving (inf where no move saves or every move would push a row that
    holds over its leftover). Per unit, so a Dask partition computes the same numbers.
    """
    n, m = arr.value.shape
    over = excess > 0
    ratio = np.full(n, np.inf)
    best = np.zeros(n, dtype=np.int64)
    save = np.zeros(n)
    for a in range(0, n, BLOCK_ROWS):
        b = min(n, a + BLOCK_ROWS)
        rows = np.arange(b - a)
        c = cols[a:b]
        v = arr.value[a:b]
        wc = np.zeros((b - a, m))
        for row in np.flatnonzero(over):
            wc += w[row] * arr.costs[row, a:b]
        cur_wc = wc[rows, c]
        saving = cur_wc[:, None] - wc
        ok = saving > 0
        # a move may not push a row that holds over its own leftover (no cycling
        # between rows that are each violated in turn)
        for row in np.flatnonzero(~over):
            cur_row = arr.costs[row, a:b][rows, c]
            ok &= arr.costs[row, a:b] - cur_row[:, None] <= max(-excess[row], 0.0)
        if arr.valid is not None:
            ok &= arr.valid[a:b]
        with np.errstate(invalid="ignore"):
            r = np.where(ok, (v[rows, c][:, None] - v) / np.where(ok, saving, 1.0), np.inf)
        j = np.argmin(r, axis=1)
        ratio[a:b] = r[rows, j]
        best[a:b] = j
        save[a:b] = saving[rows, j]
    return ratio, best, save
