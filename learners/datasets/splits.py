"""Seeded train / validation / test splits stratified by arm.

Within each arm the units are shuffled by one seeded permutation and cut at the rounded
cumulative fractions, so every split holds close to its fraction of every arm and the same
seed (on the same cleaned rows) gives the same splits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from formulations.errors import UsageError

SPLITS = ("train", "validation", "test")
FRACTION_TOL = 1e-6


def check_fractions(fractions: Sequence[float], *, what: str = "fractions") -> tuple[float, ...]:
    """Three positive fractions (train, validation, test) summing to 1, or a UsageError."""
    try:
        f = tuple(float(x) for x in fractions)
    except (TypeError, ValueError):
        raise UsageError(
            f"{what}: expected three numbers train,validation,test, got {fractions!r}"
        ) from None
    if len(f) != 3 or not all(np.isfinite(f)) or min(f) <= 0:
        raise UsageError(
            f"{what}: expected three positive fractions train,validation,test (e.g. 0.6,0.2,0.2), "
            f"got {list(fractions)}"
        )
    if abs(sum(f) - 1.0) > FRACTION_TOL:
        raise UsageError(f"{what}: the three fractions must sum to 1, got {list(f)} "
                         f"(sum {sum(f):.6g})")
    return f


def parse_fractions(text: str, *, what: str = "--split") -> tuple[float, ...]:
    """``"0.6,0.2,0.2"`` -> (0.6, 0.2, 0.2), checked."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise UsageError(
            f"{what}: expected three comma-separated fractions train,validation,test "
            f"(e.g. 0.6,0.2,0.2), got {text!r}"
        ) from None
    return check_fractions(values, what=what)


def stratified_split(
    arm: np.ndarray, fractions: Sequence[float], seed: int,
) -> np.ndarray:
    """(N,) split index per unit (0 train, 1 validation, 2 test), stratified by ``arm``.

    The cut points of arm j with N_j units are round(N_j * cumulative fraction), so the
    split sizes of an arm differ from N_j * fraction by less than one unit.
    """
    arm = np.asarray(arm)
    n = arm.size
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    # stable sort by arm keeps the random order inside each arm
    by_arm = order[np.argsort(arm[order], kind="stable")]
    _, first, counts = np.unique(arm[by_arm], return_index=True, return_counts=True)
    rank = np.arange(n) - np.repeat(first, counts)  # position inside its arm's shuffled block
    cum = np.cumsum(np.asarray(fractions, dtype=np.float64))[:2]
    cuts = np.rint(counts[:, None] * cum[None, :]).astype(np.int64)  # (arms, 2)
    cut_of = np.repeat(cuts, counts, axis=0)
    split_sorted = (rank >= cut_of[:, 0]).astype(np.int64) + (rank >= cut_of[:, 1])
    out = np.empty(n, dtype=np.int64)
    out[by_arm] = split_sorted
    return out
