"""Spend leftover budget: a fill restricted to the moves that fit, for the dual engine's arrays.

After the integer allocation at the critical multiplier the leftover of each row is small, so
only few (unit, option) moves fit at all. They are found in one chunked pass over the columns;
the greedy rounds then work on that short candidate list only (the slack only shrinks, so a
move that did not fit never fits later). Any move is considered, not only hull moves.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.dual import compiled
from engine.dual.arrays import DualArrays
from engine.dual.kernels import BLOCK_ROWS
from engine.dual.prefix import RANK_FIRST, ranked_prefix, smallest_stable


def row_slack(arr: DualArrays, cols: np.ndarray) -> np.ndarray:
    """Leftover of every dual row below its target limit (engine.dual.arrays)."""
    return arr.limits - arr.usage(cols)


def _candidate_moves(
    arr: DualArrays, cols: np.ndarray, slack: np.ndarray, lam: np.ndarray | None = None,
    stats: dict[str, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(unit, column, gain, extra (R, C)) of every move that gains value and fits every row on
    its own; gain and extra are ``value[u, o] - value[u, cols[u]]`` and the same of each row's
    cost, so the first fill round needs no gather.

    With ``lam`` and ``stats``, the same pass also sums ``max_j (v_ij - lam . c_ij)`` over units
    into ``stats["lagrangian"]`` (the dual function without lam . limits), saving a data pass.
    """
    ck = compiled.kernels(arr.value.size)
    if ck is not None:
        return _candidate_moves_compiled(ck, arr, cols, slack, lam, stats)
    n, m = arr.value.shape
    units, opts, gains, extras = [], [], [], []
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
                gains.append(vt[j][r] - cur_v[r])
                extras.append(ct[:, j, r] - cur_c[:, r])
        if best is not None:
            lagr += float(best.sum())
    return _gathered(units, opts, gains, extras, r_rows, lagr if lam is not None else None,
                     stats)


def _candidate_moves_compiled(
    ck: Any, arr: DualArrays, cols: np.ndarray, slack: np.ndarray, lam: np.ndarray | None,
    stats: dict[str, float] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_candidate_moves` with one compiled loop per block of rows: the same moves in
    the same order, and the Lagrangian summed by numpy over the same blocks."""
    n, m = arr.value.shape
    r_rows = arr.n_rows
    rows_b = min(BLOCK_ROWS, n)
    best = np.empty(rows_b)
    bu = np.empty(rows_b * m, dtype=np.int64)
    bo = np.empty(rows_b * m, dtype=np.int64)
    bg = np.empty(rows_b * m)
    be = np.empty((r_rows, rows_b * m))
    s_unit = np.empty((m, rows_b), dtype=np.int64)
    s_gain = np.empty((m, rows_b))
    s_extra = np.empty((r_rows, m, rows_b))
    s_count = np.empty(m, dtype=np.int64)
    valid = np.ones((1, 1), dtype=bool) if arr.valid is None else arr.valid
    lam_v = np.zeros(r_rows) if lam is None else np.asarray(lam, dtype=np.float64)
    cols = np.asarray(cols, dtype=np.int64)
    slack = np.asarray(slack, dtype=np.float64)
    units, opts, gains, extras = [], [], [], []
    lagr = 0.0
    for a in range(0, n, BLOCK_ROWS):
        b = min(n, a + BLOCK_ROWS)
        k = ck.candidate_block(arr.value, arr.costs, valid, arr.valid is not None, cols, slack,
                               lam_v, lam is not None, a, b, best, bu, bo, bg, be,
                               s_unit, s_gain, s_extra, s_count)
        if lam is not None:
            lagr += float(best[:b - a].sum())
        if k:
            units.append(bu[:k].copy())
            opts.append(bo[:k].copy())
            gains.append(bg[:k].copy())
            extras.append(be[:, :k].copy())
    return _gathered(units, opts, gains, extras, r_rows, lagr if lam is not None else None,
                     stats)


def _gathered(
    units: list[np.ndarray], opts: list[np.ndarray], gains: list[np.ndarray],
    extras: list[np.ndarray], r_rows: int, lagrangian: float | None,
    stats: dict[str, float] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The blocks' candidate moves as one array each (and the Lagrangian sum into ``stats``)."""
    if stats is not None and lagrangian is not None:
        stats["lagrangian"] = lagrangian
    if not units:
        return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0),
                np.zeros((r_rows, 0)))
    return (np.concatenate(units), np.concatenate(opts), np.concatenate(gains),
            np.concatenate(extras, axis=1))


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
    pass also evaluates the dual function there (see ``_candidate_moves``).

    Each round ranks the candidates by score, then gain (ties: candidate order), keeps each
    unit's best, and takes the longest prefix that fits every row's slack. Only the top of the
    ranking is sorted (:func:`ranked_prefix`, widened until the prefix that fits ends inside
    it), and only the candidates of units moved in the last round are re-evaluated: the
    result is that of sorting all candidates and re-evaluating all of them every round.
    """
    cols = np.array(cols, dtype=np.int64)
    slack = row_slack(arr, cols)
    if np.any(slack < 0):
        return cols
    if weights is None or not np.any(np.asarray(weights) > 0):
        weights = 1.0 / np.maximum(np.abs(arr.limits), 1e-12)
    w = np.maximum(np.asarray(weights, dtype=np.float64), 1e-12)
    units, opts, gain, extra = _candidate_moves(arr, cols, slack, bound_lam, stats)
    moved: np.ndarray | None = None
    for _ in range(max_rounds):
        if units.size == 0:
            break
        if moved is not None:
            # the moves of units that moved last round start from their new column
            mask = np.zeros(cols.size, dtype=bool)
            mask[moved] = True
            hit = np.flatnonzero(mask[units])
            if hit.size:
                u, o = units[hit], opts[hit]
                cur = cols[u]
                gain[hit] = arr.value[u, o] - arr.value[u, cur]
                extra[:, hit] = arr.costs[:, u, o] - arr.costs[:, u, cur]
        ok = (gain > 0) & np.all(extra <= slack[:, None], axis=0)
        if not ok.all():
            units, opts, gain, extra = units[ok], opts[ok], gain[ok], extra[:, ok]
        if units.size == 0:
            break
        wextra = w @ extra
        score = np.where(wextra > 0, gain / np.where(wextra > 0, wextra, 1.0), np.inf)
        size = RANK_FIRST
        while True:
            order, whole = ranked_prefix(score, gain, size)
            # one move per unit: its best-scored candidate
            _, first = np.unique(units[order], return_index=True)
            pick = order[np.sort(first)]
            cum = np.cumsum(np.maximum(extra[:, pick], 0.0), axis=1)
            fits = np.all(cum <= slack[:, None], axis=0)
            if whole or not fits.all():
                break
            size *= 16
        k = int(np.argmin(fits)) if not fits.all() else fits.size
        take = pick[: max(k, 1)]
        moved = units[take]
        cols[moved] = opts[take]
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
        # the cheapest moves first, until their weighted saving covers the weighted excess:
        # only the top of the stable order is sorted, widened until it covers (the cumulative
        # sums of a prefix are those of the full order)
        keys = ratio[movable]
        size = RANK_FIRST
        while True:
            order = movable[smallest_stable(keys, size)]
            cum = np.cumsum(save[order])
            if order.size == movable.size or (cum.size and cum[-1] >= need):
                break
            size *= 16
        k = int(np.searchsorted(cum, need)) + 1
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
    ck = compiled.kernels(arr.value.size)
    if ck is not None:
        # one compiled loop over the rows: the same operations in the same order per cell
        other = np.flatnonzero(~over)
        room = np.array([max(-excess[row], 0.0) for row in other], dtype=np.float64)
        valid = np.ones((1, 1), dtype=bool) if arr.valid is None else arr.valid
        ck.downgrade_block(arr.value, arr.costs, valid, arr.valid is not None,
                           np.asarray(cols, dtype=np.int64), np.asarray(w, dtype=np.float64),
                           np.flatnonzero(over), other, room, 0, n, ratio, best, save)
        return ratio, best, save
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
