"""Swap improvements: downgrade one unit to pay for another's upgrade.

:func:`one_swap` (one budget) and :func:`pair_swap` (any number of rows, budgets and
capacities alike) look for the same move: a pair (upgrade unit i, downgrade unit k, i != k)
whose combined change of every row fits its leftover and whose combined value is positive.


After the fill, the leftover r of the budget is smaller than any single upgrade that would help.
A pair (upgrade unit i by extra cost e and gain g, downgrade unit k saving s and losing l, i != k)
improves the allocation when e - s <= r and g > l. Only cells whose reduced cost at lam is
within ``window`` of their unit's best can take part in an improvement worth more than
``window`` (the same argument as reduced-cost fixing), so the search runs over that pool; the
best pair of each round is found with the downgrades sorted by saving and a suffix minimum of
their loss. Closing the wasted leftover is what shrinks the gap, and with it the exact core.
"""

from __future__ import annotations

import numpy as np

from engine.dual.arrays import DualArrays
from engine.dual.core import reduced_costs
from engine.dual.improve import fill, row_slack
from engine.dual.prefix import smallest_stable


def one_swap(
    arr: DualArrays, cols: np.ndarray, lam: float, *, window: float, max_rounds: int = 200
) -> np.ndarray:
    """Apply improving swaps (best pair first) until none is left; one dual row only."""
    if arr.n_rows != 1:
        return cols
    cols = np.array(cols, dtype=np.int64)
    d = reduced_costs(arr, np.array([lam]))
    near = d >= -max(window, 0.0)
    pool = np.flatnonzero(near.sum(axis=1) >= 2)
    if pool.size < 2:
        return cols
    v = arr.value[pool]
    c = arr.costs[0][pool]
    ok = near[pool]
    if arr.valid is not None:
        ok &= arr.valid[pool]
    rows = np.arange(pool.size)
    for _ in range(max_rounds):
        r = float(row_slack(arr, cols)[0])
        cur = cols[pool]
        cv, cc = v[rows, cur], c[rows, cur]
        extra = c - cc[:, None]
        gain = v - cv[:, None]
        up = ok & (extra > 0) & (gain > 0)
        down = ok & (extra < 0)
        ui, uj = np.nonzero(up)
        di, dj = np.nonzero(down)
        if ui.size == 0 or di.size == 0:
            break
        save = -extra[di, dj]
        loss = -gain[di, dj]
        o = np.argsort(save, kind="stable")
        save, loss, di, dj = save[o], loss[o], di[o], dj[o]
        # suffix minimum of loss and where it is attained
        rev = loss[::-1]
        acc = np.minimum.accumulate(rev)
        pos_rev = np.zeros(rev.size, dtype=np.int64)
        is_new = np.concatenate([[True], rev[1:] < acc[:-1]])
        pos_rev = np.maximum.accumulate(np.where(is_new, np.arange(rev.size), 0))
        suf_min = acc[::-1]
        suf_arg = (rev.size - 1 - pos_rev)[::-1]
        need = extra[ui, uj] - r
        at = np.searchsorted(save, need, side="left")
        has = at < save.size
        if not has.any():
            break
        cand = np.flatnonzero(has)
        k = suf_arg[at[cand]]
        net = gain[ui[cand], uj[cand]] - suf_min[at[cand]]
        net[di[k] == ui[cand]] = -np.inf  # a unit cannot pay for itself
        b = int(np.argmax(net))
        if not net[b] > 1e-12:
            break
        i, j = ui[cand[b]], uj[cand[b]]
        kk, jj = di[k[b]], dj[k[b]]
        cols[pool[i]] = j
        cols[pool[kk]] = jj
        if row_slack(arr, cols)[0] < 0:  # rounding: undo and stop
            cols[pool[i]] = cur[i]
            cols[pool[kk]] = cur[kk]
            break
    return cols


#: one side of a round's moves: (unit, cell, value gain dv, cost change dc (R, k), rank key),
#: in the order of the key, ties by unit then cell
Moves = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def best_moves(
    arr: DualArrays, cols: np.ndarray, w: np.ndarray, ups: int, downs: int,
) -> tuple[Moves, Moves]:
    """The moves of :func:`pair_swap`'s round: of every change of a unit to another usable
    cell, the ``ups`` of largest value gain (key ``-dv``) and the ``downs`` of cheapest value
    loss per weighted cost saved (key ``max(-dv, 0) / -(w . dc)``), both as a stable sort over
    (unit, cell) in row-major order ranks them.

    Dense passes over the (n, M) arrays and the few chosen moves gathered: a Dask partition
    computes every move's key with the same operations, so the merged lists rank alike."""
    n, m = arr.value.shape
    rows = np.arange(n)
    cols = np.asarray(cols, dtype=np.int64)
    movable = np.ones((n, m), dtype=bool) if arr.valid is None else arr.valid.copy()
    movable[rows, cols] = False
    dv = arr.value - arr.value[rows, cols][:, None]
    wc = np.zeros((n, m))
    for k in range(arr.n_rows):
        ck = arr.costs[k]
        wc += w[k] * (ck - ck[rows, cols][:, None])
    up = np.flatnonzero(movable & (dv > 1e-12))
    up_key = -dv.ravel()[up]
    pick = smallest_stable(up_key, ups)
    down = np.flatnonzero(movable & (wc < 0))
    down_key = np.maximum(-dv.ravel()[down], 0.0) / -wc.ravel()[down]
    drop = smallest_stable(down_key, downs)
    return (_gather_moves(arr, cols, up[pick], up_key[pick]),
            _gather_moves(arr, cols, down[drop], down_key[drop]))


def _gather_moves(arr: DualArrays, cols: np.ndarray, flat: np.ndarray,
                  key: np.ndarray) -> Moves:
    m = arr.value.shape[1]
    u, j = flat // m, flat % m
    cur = cols[u]
    return (u, j, arr.value[u, j] - arr.value[u, cur], arr.costs[:, u, j] - arr.costs[:, u, cur],
            key)


def pair_swap(
    arr: DualArrays, cols: np.ndarray, weights: np.ndarray, *, ups: int = 300,
    downs: int = 600, max_rounds: int = 200, time_limit: float = 1.0,
) -> np.ndarray:
    """Improving swaps under every row, best pair first, until none is left (or the time).

    The moves considered are every (unit, cell) change from the current allocation; each round
    takes the ``ups`` moves of largest gain and the ``downs`` of cheapest loss per weighted
    saving (``weights``: the rows' multipliers), tests every pair of them against every row's
    leftover at once, applies the best improving pair and a short fill. On MMKP-style
    instances (10 rows) it closes a good part of what rounding the LP leaves.
    """
    import time

    t0 = time.perf_counter()
    cols = np.array(cols, dtype=np.int64)
    w = np.maximum(np.asarray(weights, dtype=np.float64), 1e-12)
    for _ in range(max_rounds):
        if time.perf_counter() - t0 > time_limit:
            break
        slack = row_slack(arr, cols)
        (uu, uj, udv, udc, _), (du, dj, ddv, ddc, _) = best_moves(arr, cols, w, ups, downs)
        if uu.size == 0 or du.size == 0:
            break
        ok = uu[:, None] != du[None, :]
        for k in range(arr.n_rows):
            ok &= udc[k][:, None] + ddc[k][None, :] <= slack[k]
        gain = np.where(ok, udv[:, None] + ddv[None, :], -np.inf)
        best = int(np.argmax(gain))
        a, b = np.unravel_index(best, gain.shape)
        if not gain[a, b] > 1e-12 * max(1.0, abs(float(arr.objective(cols)))):
            break
        before = cols.copy()
        cols[uu[a]] = uj[a]
        cols[du[b]] = dj[b]
        if np.any(row_slack(arr, cols) < 0):  # rounding: undo and stop
            cols = before
            break
        cols = fill(arr, cols, weights=w, max_rounds=5)
    return cols
