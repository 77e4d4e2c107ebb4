"""Compiled (numba) row loops of the one-budget dual: hulls, choice, bracket pass, fill moves.

Imported only through engine.dual.compiled.kernels() (numba is optional). Each function does,
per element, exactly the floating-point operations of its numpy counterpart, in the same order
(no fast-math, so no reassociation or fused multiply-add), and writes what numpy would have
computed: the results are bit-identical. Where numpy *sums* an array (the bracket's sums, the
Lagrangian), the kernel writes the summands and the caller sums them with numpy, so that the
pairwise summation is the same too. The gain is memory traffic: one pass over a row instead
of one pass per numpy temporary.

``error_model="numpy"``: a division by zero gives inf / nan as in numpy instead of raising.
Serial on purpose: ``parallel=True`` cost about 0.5 s per process to load (the threading layer)
and tens of milliseconds per call on this loaded 2-core machine, more than it saved.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

_JIT: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}
#: row helpers inlined into their callers at numba's level (LLVM alone leaves them as calls,
#: twice as slow for the hull)
_INLINE: dict[str, Any] = {**_JIT, "inline": "always"}


@njit(**_INLINE)
def _minimum(a: float, b: float) -> float:
    # np.minimum: a NaN on either side propagates
    if a != a:
        return a
    if b != b:
        return b
    return a if a <= b else b


@njit(**_INLINE)
def _maximum(a: float, b: float) -> float:
    if a != a:
        return a
    if b != b:
        return b
    return a if a >= b else b


@njit(**_JIT)
def hull_sorted_blocks(value, cost, valid, has_valid, block, keep_value,  # type: ignore[no-untyped-def]
                       d_value, d_cost, efficiency, start, start_value, start_cost):
    """engine.dual.kernels._hull_block on every block of ``block`` rows whose costs are sorted.

    A block with a row out of cost order (``_cost_order`` would sort it) is left untouched and
    its first row returned, for the numpy kernel; returns those first rows (int64).
    """
    n = value.shape[0]
    n_blocks = (n + block - 1) // block
    in_order = np.empty(n_blocks, dtype=np.bool_)
    no_mask = np.empty(0, dtype=np.uint16)
    no_sums = np.empty(2)
    for g in range(n_blocks):
        a = g * block
        b = min(n, a + block)
        in_order[g] = _hull_rows(value, cost, valid, has_valid, keep_value, False, a, b,
                                 d_value, d_cost, efficiency, no_mask, start, start_value,
                                 start_cost, no_sums)
    return np.flatnonzero(~in_order).astype(np.int64) * block


@njit(**_INLINE)
def _rows_in_order(value, cost, valid, has_valid, a, b):  # type: ignore[no-untyped-def]
    """engine.dual.kernels._cost_order finds rows a..b sorted (the key: cost, inf if unusable)."""
    m = value.shape[1]
    for i in range(a, b):
        for j in range(m - 1):
            ok0 = valid[i, j] if has_valid else np.isfinite(value[i, j])
            ok1 = valid[i, j + 1] if has_valid else np.isfinite(value[i, j + 1])
            k0 = cost[i, j] if ok0 else np.inf
            k1 = cost[i, j + 1] if ok1 else np.inf
            if k0 > k1:
                return False
    return True


@njit(**_JIT)
def _hull_rows(value, cost, valid, has_valid, keep_value, compact, a, b,  # type: ignore[no-untyped-def]
               d_value, d_cost, efficiency, mask, start, start_value, start_cost, sums):
    """Rows a..b of :func:`hull_sorted_blocks` (or, with ``compact``, of
    :func:`hull_mask_blocks`: the mask instead of the increments); False (nothing written)
    when a row of them is out of cost order. With ``compact``, ``sums`` gets the sum of the
    increments' d_cost and of their absolute values. One function on purpose: split into
    helpers, numba's code for it ran at half the speed."""
    if not _rows_in_order(value, cost, valid, has_valid, a, b):
        return False
    m = value.shape[1]
    lo = np.empty(m)
    hi = np.empty(m)
    vs = np.empty(m)
    cs = np.empty(m)
    ok = np.empty(m, dtype=np.bool_)
    total = 0.0
    total_abs = 0.0
    for i in range(a, b):
        for j in range(m):
            okj = valid[i, j] if has_valid else np.isfinite(value[i, j])
            ok[j] = okj
            vs[j] = value[i, j] if okj else -np.inf
            cs[j] = cost[i, j]
            lo[j] = np.inf
            hi[j] = -np.inf
        # lo[q] = min_{p<q} slope(p, q); hi[p] = max_{q>p} slope(p, q)
        for p in range(m):
            for q in range(p + 1, m):
                dv = vs[q] - vs[p]
                dc = cs[q] - cs[p]
                slope = dv / dc
                if not dc > 0:
                    # equal cost: the more valuable dominates (slope +inf), else -inf
                    slope = np.inf if dv > 0 else -np.inf
                if ok[p] and ok[q]:
                    lo[q] = _minimum(lo[q], slope)
                    hi[p] = _maximum(hi[p], slope)
        best_before = -np.inf
        seen = False
        st = -1
        prev_v = 0.0
        prev_c = 0.0
        bits = 0
        for j in range(m):
            on = ok[j] and (vs[j] > best_before) and (lo[j] > hi[j])
            best_before = _maximum(best_before, vs[j])
            if j > 0:
                inc = on and seen
                if compact:
                    if inc:
                        bits |= 1 << j
                        d = cs[j] - prev_c
                        total += d
                        total_abs += abs(d)
                else:
                    dvj = vs[j] - prev_v if inc else 0.0
                    dcj = cs[j] - prev_c if inc else 0.0
                    if keep_value:
                        d_value[i, j - 1] = dvj
                    d_cost[i, j - 1] = dcj
                    efficiency[i, j - 1] = dvj / dcj if dcj > 0 else -np.inf
            if on and not seen:
                st = j
            if on:
                prev_v = vs[j]
                prev_c = cs[j]
                seen = True
        if compact:
            mask[i] = bits
        start[i] = st
        start_value[i] = vs[st] if st >= 0 else 0.0
        start_cost[i] = cs[st] if st >= 0 else 0.0
    if compact:
        sums[0] = total
        sums[1] = total_abs
    return True


@njit(**_JIT)
def hull_mask_blocks(value, cost, valid, has_valid, block,  # type: ignore[no-untyped-def]
                     mask, start, start_value, start_cost):
    """The compact hull (engine.dual.compact): per row a bit mask of the hull points after the
    start (bit j: sorted column j), the start and its value and cost. Blocks that are not in
    cost order are not written. Returns (every block in order, sum of the increments' d_cost,
    sum of their absolute values); the sums are plain float sums, for a test that callers
    make safe with the rounding bound."""
    n, m = value.shape
    n_blocks = (n + block - 1) // block
    in_order = np.empty(n_blocks, dtype=np.bool_)
    sums = np.zeros((n_blocks, 2))
    none = np.empty((0, max(m - 1, 0)))
    for g in range(n_blocks):
        a = g * block
        b = min(n, a + block)
        in_order[g] = _hull_rows(value, cost, valid, has_valid, False, True, a, b, none, none,
                                 none, mask, start, start_value, start_cost, sums[g])
    return bool(in_order.all()), sums[:, 0].sum(), sums[:, 1].sum()


@njit(**_INLINE)
def _row_increments(value, cost, valid, has_valid, i, st, bits,  # type: ignore[no-untyped-def]
                    eff, w, dvp):
    """Row i's increments from its compact hull, as upper_hulls stores them: ``w`` d_cost,
    ``eff`` d_value / d_cost (-inf unless d_cost > 0), ``dvp`` select._Product's d_value
    (eff * d_cost where d_cost > 0, else 0)."""
    m = value.shape[1]
    prev_v = 0.0
    prev_c = 0.0
    if st >= 0:
        prev_v = value[i, st]
        prev_c = cost[i, st]
    for j in range(1, m):
        dvj = 0.0
        dcj = 0.0
        if (bits >> j) & 1:
            okj = valid[i, j] if has_valid else np.isfinite(value[i, j])
            vj = value[i, j] if okj else -np.inf
            dvj = vj - prev_v
            dcj = cost[i, j] - prev_c
            prev_v = vj
            prev_c = cost[i, j]
        if dcj > 0:
            e = dvj / dcj
            eff[j - 1] = e
            dvp[j - 1] = e * dcj
        else:
            eff[j - 1] = -np.inf
            dvp[j - 1] = 0.0
        w[j - 1] = dcj


@njit(**_JIT)
def compact_at(value, cost, valid, has_valid, mask, start, flat,  # type: ignore[no-untyped-def]
               eff_out, w_out, dv_out):
    """The increments at flat positions ``flat`` (row * (M-1) + step) of a compact hull."""
    m = value.shape[1]
    width = m - 1
    eff = np.empty(width)
    w = np.empty(width)
    dvp = np.empty(width)
    last = -1
    for t in range(flat.shape[0]):
        f = flat[t]
        i = f // width
        if i != last:
            _row_increments(value, cost, valid, has_valid, i, start[i], mask[i], eff, w, dvp)
            last = i
        s = f - i * width
        eff_out[t] = eff[s]
        w_out[t] = w[s]
        dv_out[t] = dvp[s]


@njit(**_JIT)
def compact_chunk(value, cost, valid, has_valid, mask, start, a, b,  # type: ignore[no-untyped-def]
                  lo, hi, with_hi, w_up, v_up, mid, col):
    """:func:`bracket_chunk` over flat positions a..b of a compact hull (``mid``: positions
    relative to a); also ``col[i]`` for every row i
    touched, the choice at ``hi`` (:func:`compact_choice_at`), which is the rounding's column
    when this pass is the last."""
    m = value.shape[1]
    width = m - 1
    eff = np.empty(width)
    w = np.empty(width)
    dvp = np.empty(width)
    n_up = 0
    n_mid = 0
    i0 = a // width
    i1 = (b - 1) // width
    for i in range(i0, i1 + 1):
        _row_increments(value, cost, valid, has_valid, i, start[i], mask[i], eff, w, dvp)
        c = int(start[i])
        for j in range(1, m):
            if eff[j - 1] > hi:
                c = j
        col[i] = c
        s0 = max(a - i * width, 0)
        s1 = min(b - i * width, width)
        for s in range(s0, s1):
            e = eff[s]
            if e > hi:
                if with_hi:
                    w_up[n_up] = w[s]
                    v_up[n_up] = dvp[s]
                    n_up += 1
            elif e > lo:
                mid[n_mid] = i * width + s - a
                n_mid += 1
    return n_up, n_mid


@njit(**_JIT)
def compact_choice_at(value, cost, valid, has_valid, mask, start, lam, block,  # type: ignore[no-untyped-def]
                      out):
    """engine.dual.kernels.sorted_choice_at on a compact hull."""
    n, m = value.shape
    width = m - 1
    n_blocks = (n + block - 1) // block
    for g in range(n_blocks):
        eff = np.empty(width)
        w = np.empty(width)
        dvp = np.empty(width)
        for i in range(g * block, min(n, g * block + block)):
            _row_increments(value, cost, valid, has_valid, i, start[i], mask[i], eff, w, dvp)
            c = int(start[i])
            for j in range(1, m):
                if eff[j - 1] > lam:
                    c = j
            out[i] = c


@njit(**_JIT)
def sorted_choice_at(start, efficiency, lam, out):  # type: ignore[no-untyped-def]
    """engine.dual.kernels.sorted_choice_at into ``out`` (int64)."""
    n, w = efficiency.shape
    for i in range(n):
        c = int(start[i])
        for j in range(1, w + 1):
            if efficiency[i, j - 1] > lam:
                c = j
        out[i] = c


@njit(**_JIT)
def bracket_chunk(eff, w, dv, product, lo, hi, with_hi,  # type: ignore[no-untyped-def]
                  w_up, v_up, mid):
    """One chunk of engine.dual.select._pass: the costs and values of the increments with
    eff > hi (into ``w_up``, ``v_up``, in order, when ``with_hi``) and the positions with
    lo < eff <= hi (into ``mid``). ``product``: d_value is eff * d_cost (0 where d_cost <= 0).
    Returns (count above, count in the bracket)."""
    n_up = 0
    n_mid = 0
    for i in range(eff.shape[0]):
        e = eff[i]
        if e > hi:
            if with_hi:
                c = w[i]
                w_up[n_up] = c
                if product:
                    v_up[n_up] = e * c if c > 0 else 0.0
                else:
                    v_up[n_up] = dv[i]
                n_up += 1
        elif e > lo:
            mid[n_mid] = i
            n_mid += 1
    return n_up, n_mid


@njit(**_JIT)
def candidate_block(value, costs, valid, has_valid, cols, slack, lam, with_lam,  # type: ignore[no-untyped-def]
                    a, b, best, units, opts, gain, extra, s_unit, s_gain, s_extra, s_count):
    """Rows a..b of engine.dual.improve._candidate_moves: every move that gains value and fits
    every row's slack on its own, with its gain and extra cost, in the numpy order (column by
    column, rows ascending); with ``with_lam`` each row's max_j (v_ij - lam . c_ij) into
    ``best`` (summed by the caller). One pass over the rows (each row read once, the moves
    sorted into per-column scratch ``s_*``, then written out column by column). Returns the
    number of moves written."""
    m = value.shape[1]
    r_rows = costs.shape[0]
    for j in range(m):
        s_count[j] = 0
    for i in range(a, b):
        c = cols[i]
        if c < 0:
            c += m  # numpy's negative index, as the numpy kernel reads it
        cur_v = value[i, c]
        bi = -np.inf
        for j in range(m):
            vj = value[i, j]
            okj = valid[i, j] if has_valid else True
            if with_lam:
                s = vj - lam[0] * costs[0, i, j]
                for k in range(1, r_rows):
                    s -= lam[k] * costs[k, i, j]
                if not okj:
                    s = -np.inf
                bi = _maximum(bi, s)
            ok = vj > cur_v
            for k in range(r_rows):
                ok = ok and (costs[k, i, j] - costs[k, i, c] <= slack[k])
            if ok and okj:
                t = s_count[j]
                s_unit[j, t] = i
                s_gain[j, t] = vj - cur_v
                for k in range(r_rows):
                    s_extra[k, j, t] = costs[k, i, j] - costs[k, i, c]
                s_count[j] = t + 1
        if with_lam:
            best[i - a] = bi
    count = 0
    for j in range(m):
        for t in range(s_count[j]):
            units[count] = s_unit[j, t]
            opts[count] = j
            gain[count] = s_gain[j, t]
            for k in range(r_rows):
                extra[k, count] = s_extra[k, j, t]
            count += 1
    return count


@njit(**_JIT)
def has_subnormal(flat):  # type: ignore[no-untyped-def]
    """True when some entry of the 1-D ``flat`` is subnormal (0 < |x| < tiny)."""
    tiny = np.finfo(np.float64).tiny
    for i in range(flat.shape[0]):
        x = flat[i]
        if x != 0 and abs(x) < tiny:
            return True
    return False


@njit(**_JIT)
def take_columns(a, cols, out):  # type: ignore[no-untyped-def]
    """out[..., i] = a[..., i, cols[i]] for a (R, n, M) array (numpy's wrap of -1 included)."""
    r_rows, n, m = a.shape
    for i in range(n):
        c = cols[i]
        if c < 0:
            c += m
        for k in range(r_rows):
            out[k, i] = a[k, i, c]


@njit(**_JIT)
def row_min(a, out):  # type: ignore[no-untyped-def]
    """out[i] = min_j a[i, j] with np.minimum's NaN rule (a has at least one column)."""
    n, m = a.shape
    for i in range(n):
        x = a[i, 0]
        for j in range(1, m):
            x = _minimum(x, a[i, j])
        out[i] = x


@njit(**_JIT)
def choice_block(value, c, lam, tie_low, a, b, idx, best, best_v, spent):  # type: ignore[no-untyped-def]
    """Rows a..b of engine.dual.kernels._choice_block: per row the argmax of v - lam . c (ties:
    the least weighted cost with ``tie_low``, else the greatest) into ``idx`` (-1: none
    usable). The rows with a choice, in order, are packed at the front of ``best`` (their
    score), ``best_v`` (value) and ``spent`` (block, R: their costs, laid out as numpy's
    gather ``c[:, rows, idx[rows]]`` lays them out), so that numpy sums the same numbers in
    the same order as the numpy kernel; returns how many there are."""
    m = value.shape[1]
    r_rows = c.shape[0]
    count = 0
    for i in range(a, b):
        bs = -np.inf
        bw = 0.0
        bv = 0.0
        ix = -1
        for j in range(m):
            w = c[0, i, j] * lam[0]
            for k in range(1, r_rows):
                w += lam[k] * c[k, i, j]
            vj = value[i, j]
            score = vj - w
            if tie_low:
                better = (score > bs) or (score == bs and w < bw)
            else:
                better = (score > bs) or (score == bs and w > bw)
            if better and vj > -np.inf:
                ix = j
                bs = score
                bw = w
                bv = vj
        idx[i] = ix
        if ix >= 0:
            best[count] = bs
            best_v[count] = bv
            for k in range(r_rows):
                spent[count, k] = c[k, i, ix]
            count += 1
    return count


@njit(**_JIT)
def downgrade_block(value, costs, valid, has_valid, cols, w, over, other, room, a, b,  # type: ignore[no-untyped-def]
                    ratio, best, save):
    """Rows a..b of engine.dual.improve.downgrade_scores: every unit's best downgrade
    (value lost per weighted saving on the rows ``over``, none pushing a row of ``other``
    past its ``room``), with numpy's argmin rule (the first least, a NaN first)."""
    m = value.shape[1]
    wc = np.empty(m)
    for i in range(a, b):
        ci = cols[i]
        for j in range(m):
            x = 0.0
            for t in range(over.shape[0]):
                x += w[over[t]] * costs[over[t], i, j]
            wc[j] = x
        cur = wc[ci]
        vcur = value[i, ci]
        bj = 0
        br = np.inf
        for j in range(m):
            s = cur - wc[j]
            ok = s > 0
            for t in range(other.shape[0]):
                r = other[t]
                if not costs[r, i, j] - costs[r, i, ci] <= room[t]:
                    ok = False
            if has_valid and not valid[i, j]:
                ok = False
            rj = (vcur - value[i, j]) / s if ok else np.inf
            if j == 0:
                br = rj
            elif not np.isnan(br) and (np.isnan(rj) or rj < br):
                br = rj
                bj = j
        ratio[i] = br
        best[i] = bj
        save[i] = cur - wc[bj]
