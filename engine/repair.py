"""Primal repair and fill: make an assignment feasible, then spend leftover budget greedily.

Both hold every budget to its target (formulations.assignment.target_limits), the limit every
solver aims at.

Both work in vectorised rounds over the dense (N, M) view: each round scores one move per unit,
sorts the moves and applies the longest prefix that fits, so there is no Python loop per unit.
"""

from __future__ import annotations

import numpy as np

from formulations.assignment import target_limits
from formulations.instance import DenseView, Instance


def _with_null(instance: Instance, dense: DenseView) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """value (N, M'), costs (K, N, M'), valid (N, M'); for at-most-one the last column is null."""
    if instance.choose != "at-most-one":
        return dense.value, dense.costs, dense.valid
    n = instance.n_units
    value = np.concatenate([dense.value, np.zeros((n, 1))], axis=1)
    costs = np.concatenate([dense.costs, np.zeros((instance.n_budgets, n, 1))], axis=2)
    valid = np.concatenate([dense.valid, np.ones((n, 1), dtype=bool)], axis=1)
    return value, costs, valid


def _to_cols(instance: Instance, a: np.ndarray, m: int) -> np.ndarray:
    return np.where(a < 0, m, a) if instance.choose == "at-most-one" else a.copy()


def _from_cols(instance: Instance, cols: np.ndarray, m: int) -> np.ndarray:
    return np.where(cols == m, -1, cols) if instance.choose == "at-most-one" else cols


def _weights(instance: Instance, multipliers: np.ndarray | None) -> np.ndarray:
    limits = instance.limits
    if multipliers is not None and np.any(multipliers > 0):
        w = np.asarray(multipliers, dtype=np.float64).copy()
        w[w <= 0] = 1e-12
        return w
    return 1.0 / np.maximum(np.abs(limits), 1e-12)


def _usage(costs: np.ndarray, cols: np.ndarray) -> np.ndarray:
    idx = np.arange(cols.shape[0])
    return costs[:, idx, cols].sum(axis=1)


def repair(
    instance: Instance,
    assignment: np.ndarray,
    *,
    multipliers: np.ndarray | None = None,
    max_rounds: int = 200,
) -> np.ndarray:
    """Downgrade units until every budget and capacity holds; returns a new assignment.

    Moves are chosen by value lost per unit of weighted saving on the violated budgets
    (weights: the multipliers where given, else 1/limit). If the cheapest choice of every
    unit still breaks a budget the instance is infeasible and the cheapest choice is returned.
    """
    dense = instance.dense()
    value, costs, valid = _with_null(instance, dense)
    m0 = dense.value.shape[1]
    cols = _to_cols(instance, np.asarray(assignment, dtype=np.int64), m0)
    limits = target_limits(instance.limits)
    w_all = _weights(instance, multipliers)
    idx = np.arange(instance.n_units)
    caps = instance.capacity_codes()
    code_of = _dense_codes(instance, valid.shape[1])

    for _ in range(max_rounds):
        changed = False
        # capacities first: they are counts, fixed by moving the cheapest-to-move holders
        for code, lim in caps:
            holders = np.flatnonzero(code_of[idx, cols] == code)
            excess = holders.size - int(np.floor(lim))
            if excess <= 0:
                continue
            alt_ok = valid[holders] & (code_of[holders] != code)
            wc = np.tensordot(w_all, costs[:, holders, :], axes=1)
            alt_score = np.where(alt_ok, value[holders] - 1e-9 * wc, -np.inf)
            alt = np.argmax(alt_score, axis=1)
            loss = value[holders, cols[holders]] - value[holders, alt]
            take = np.argsort(loss, kind="stable")[:excess]
            cols[holders[take]] = alt[take]
            changed = True
        usage = _usage(costs, cols)
        over = usage > limits
        if not over.any():
            if not changed:
                break
            continue
        w = np.where(over, w_all, 0.0)
        wc = np.tensordot(w, costs, axes=1)  # (N, M')
        cur_wc = wc[idx, cols]
        cur_v = value[idx, cols]
        saving = cur_wc[:, None] - wc
        allowed = valid & (saving > 0)
        for code, lim in caps:  # never move into a full capacity option
            full = np.count_nonzero(code_of[idx, cols] == code) >= lim
            if full:
                allowed &= code_of != code
        ratio = np.where(allowed, (cur_v[:, None] - value) / np.where(allowed, saving, 1.0), np.inf)
        best = np.argmin(ratio, axis=1)
        best_ratio = ratio[idx, best]
        movable = np.flatnonzero(np.isfinite(best_ratio))
        if movable.size == 0:
            break
        order = movable[np.argsort(best_ratio[movable], kind="stable")]
        gain = saving[order, best[order]]
        need = float(np.dot(w, usage - limits)) + 1e-12
        k = int(np.searchsorted(np.cumsum(gain), need)) + 1
        take = order[: max(1, min(k, order.size))]
        cols[take] = best[take]
    return _from_cols(instance, cols, m0)


def _dense_codes(instance: Instance, width: int) -> np.ndarray:
    """(N, width) option code of every dense cell; -1 for padding and the null column."""
    codes = np.full((instance.n_units, width), -1, dtype=np.int64)
    codes[instance.unit_of_row, instance.local_index] = instance.option_codes
    return codes


def fill(
    instance: Instance,
    assignment: np.ndarray,
    *,
    multipliers: np.ndarray | None = None,
    max_rounds: int = 50,
) -> np.ndarray:
    """Spend leftover budget on upgrades, best value gain per weighted extra cost first.

    Assumes ``assignment`` is feasible; the result stays feasible and is never worse.
    """
    dense = instance.dense()
    value, costs, valid = _with_null(instance, dense)
    m0 = dense.value.shape[1]
    cols = _to_cols(instance, np.asarray(assignment, dtype=np.int64), m0)
    limits = target_limits(instance.limits)
    w = _weights(instance, multipliers)
    idx = np.arange(instance.n_units)
    caps = instance.capacity_codes()
    code_of = _dense_codes(instance, valid.shape[1]) if caps else None

    for _ in range(max_rounds):
        slack = limits - _usage(costs, cols)
        cur_v = value[idx, cols]
        extra = costs - costs[:, idx, cols][:, :, None]  # (K, N, M')
        gain = value - cur_v[:, None]
        fits = valid & (gain > 0) & np.all(extra <= slack[:, None, None], axis=0)
        if code_of is not None:
            for code, lim in caps:
                if np.count_nonzero(code_of[idx, cols] == code) >= lim:
                    fits &= code_of != code
        if not fits.any():
            break
        wextra = np.tensordot(w, extra, axes=1)
        score = np.where(fits, gain / np.maximum(wextra, 1e-300), -np.inf)
        score = np.where(fits & (wextra <= 0), np.inf, score)
        best = np.argmax(score, axis=1)
        cand = np.flatnonzero(np.isfinite(score[idx, best]) | (score[idx, best] == np.inf))
        cand = cand[fits[cand, best[cand]]]
        if cand.size == 0:
            break
        order = cand[np.argsort(-score[cand, best[cand]], kind="stable")]
        ext = extra[:, order, best[order]]  # (K, C)
        cum = np.cumsum(np.maximum(ext, 0.0), axis=1)
        ok = np.all(cum <= slack[:, None], axis=0)
        if code_of is not None:
            for code, lim in caps:
                into = (code_of[order, best[order]] == code).astype(np.int64)
                have = np.count_nonzero(code_of[idx, cols] == code)
                ok &= np.cumsum(into) + have <= lim
        k = int(np.argmin(ok)) if not ok.all() else ok.size
        if k == 0:
            # the single best move is no longer affordable with the others: take it alone
            k = 1
        take = order[:k]
        cols[take] = best[take]
    return _from_cols(instance, cols, m0)


def cheapest(instance: Instance, multipliers: np.ndarray | None = None) -> np.ndarray:
    """Per unit, the option of least weighted cost (the null option for at-most-one)."""
    if instance.choose == "at-most-one":
        return np.full(instance.n_units, -1, dtype=np.int64)
    dense = instance.dense()
    w = _weights(instance, multipliers)
    wc = np.tensordot(w, dense.costs, axes=1) if instance.n_budgets else np.zeros(dense.value.shape)
    wc = np.where(dense.valid, wc, np.inf)
    # ties broken towards the higher value
    key = np.where(dense.valid, dense.value, -np.inf)
    best = np.lexsort((-key, wc), axis=-1)[:, 0] if wc.size else np.zeros(0, np.int64)
    return best.astype(np.int64)
