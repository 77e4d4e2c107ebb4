"""Prefixes of a stable sort without sorting everything.

The fill, the repair and the pair swaps each need only the first few entries of a long stable
ranking (the best moves of a round); these give exactly those entries, in the full order's
order, at the cost of a partition and a short sort.
"""

from __future__ import annotations

import numpy as np

#: entries ranked per try in a fill or repair round (x16 per retry); the full order only when
#: the prefix so ranked all fits
RANK_FIRST = 1024


def ranked_prefix(
    score: np.ndarray, gain: np.ndarray, size: int
) -> tuple[np.ndarray, bool]:
    """A prefix of ``np.lexsort((-gain, -score))`` (at least ``size`` long, or all) and whether
    it is the whole order.

    Every candidate with ``-score`` at most the ``size``-th smallest is in it (ties included),
    so it is a prefix of the full order; a stable lexsort of those, taken in index order,
    orders them as the full lexsort does.
    """
    neg = -score
    if size >= neg.size:
        return np.lexsort((-gain, neg)), True
    kth = np.partition(neg, size - 1)[size - 1]
    sel = np.flatnonzero(neg <= kth)
    return sel[np.lexsort((-gain[sel], neg[sel]))], sel.size == neg.size


def smallest_stable(keys: np.ndarray, k: int) -> np.ndarray:
    """``np.argsort(keys, kind="stable")[:k]`` without sorting everything: every key at most
    the k-th smallest (ties included) is a prefix of the full order, and a stable argsort of
    those, taken in index order, orders them as the full one does."""
    if k >= keys.size:
        return np.argsort(keys, kind="stable")[:k]
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    kth = np.partition(keys, k - 1)[k - 1]
    sel = np.flatnonzero(keys <= kth)
    if sel.size < k:  # NaN keys (sorted last by argsort): the plain way
        return np.argsort(keys, kind="stable")[:k]
    return sel[np.argsort(keys[sel], kind="stable")[:k]]
