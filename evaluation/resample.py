"""Bootstrap over units as counts: many statistics of one resample, summed with one product.

A percentile bootstrap over units (papers.md §0.5, a recommendation [I]) draws N unit indices
with replacement per replicate. Every statistic here is a sum over units of
``mask[g, i] * base[i, c]`` (a policy's matched units times y/p, c/p or 1/p), so a replicate is
the resample's count vector times those columns: statistics of several policies (budgets,
models, the all-control policy) share each resample, which is what makes intervals of
differences (uplift over control, model A minus model B) paired.

The draws are ``numpy.random.default_rng(seed).integers(0, N, size=(k, N))`` in chunks of about
``chunk`` indices, the same stream as :func:`evaluation.policy.bootstrap`, so a replicate here is
the same resample as replicate r there.
"""

from __future__ import annotations

import warnings

import numpy as np

from formulations.errors import UsageError


def bootstrap_sums(
    mask: np.ndarray, base: np.ndarray, *, n_boot: int, seed: int = 0, chunk: int = 2_000_000,
) -> np.ndarray:
    """(n_boot, G, C) replicates of sum_i mask[g, i] * base[i, c] over resampled units.

    Parameters
    ----------
    mask:
        (G, N) bool or float: which units count for statistic group g (or their weights).
    base:
        (N, C) per-unit columns (e.g. y/p, c/p, 1/p).
    n_boot, seed, chunk:
        replicates, the generator's seed, and about how many indices to draw at once.
    """
    mk = np.asarray(mask)
    bs = np.asarray(base, dtype=np.float64)
    if mk.ndim != 2 or bs.ndim != 2 or mk.shape[1] != bs.shape[0]:
        raise UsageError(f"mask/base: expected (G, N) and (N, C), got {mk.shape} and {bs.shape}")
    if not isinstance(n_boot, int) or n_boot < 1:
        raise UsageError(f"n_boot: expected a positive integer, got {n_boot!r}")
    n = bs.shape[0]
    mf = mk.astype(np.float64)
    rng = np.random.default_rng(seed)
    per = max(1, chunk // max(n, 1))
    out = np.empty((n_boot, mk.shape[0], bs.shape[1]))
    r = 0
    while r < n_boot:
        k = min(per, n_boot - r)
        idx = rng.integers(0, n, size=(k, n))
        for row in idx:
            counts = np.bincount(row, minlength=n).astype(np.float64)
            out[r] = mf @ (counts[:, None] * bs)
            r += 1
    return out


def percentile_interval(replicates: np.ndarray, level: float) -> np.ndarray:
    """(..., 2) percentile interval over axis 0 (NaN replicates ignored)."""
    a = (1.0 - level) / 2.0
    with warnings.catch_warnings():
        # a statistic undefined in every replicate (no matched unit) gives NaN bounds
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanquantile(replicates, a, axis=0)
        hi = np.nanquantile(replicates, 1.0 - a, axis=0)
    return np.stack([lo, hi], axis=-1)
