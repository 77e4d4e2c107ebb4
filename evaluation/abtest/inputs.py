"""Validation of the plain arrays every estimator takes: outcome, 0/1 treatment, covariates."""

from __future__ import annotations

import numpy as np

from formulations.errors import UsageError


def as_outcome(y: object, name: str = "metric") -> np.ndarray:
    arr = np.asarray(y, dtype=float).ravel()
    if arr.size == 0:
        raise UsageError(f"{name}: no observations")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise UsageError(f"{name}: {int(bad.sum())} missing or non-finite values "
                         f"(first at row {int(np.argmax(bad))}); expected numbers in every row")
    return arr


def as_treatment(t: object, n: int) -> np.ndarray:
    arr = np.asarray(t).ravel()
    if arr.shape[0] != n:
        raise UsageError(f"treatment: {arr.shape[0]} rows, expected {n} (one per unit)")
    values = set(np.unique(arr).tolist())
    if not values <= {0, 1}:  # True/False and 0.0/1.0 compare equal to these
        raise UsageError(f"treatment: expected 0 (control) / 1 (variant), got values "
                         f"{sorted(map(str, values))[:6]}")
    out = arr.astype(np.int8)
    n1 = int(out.sum())
    if n1 < 2 or n - n1 < 2:
        raise UsageError(f"treatment: each arm needs at least 2 units, got {n - n1} control "
                         f"and {n1} variant")
    return out


def as_covariates(x: object | None, n: int) -> np.ndarray:
    if x is None:
        return np.empty((n, 0))
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.shape[0] != n:
        raise UsageError(f"covariates: {arr.shape[0]} rows, expected {n}")
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise UsageError(f"covariates: {int(bad.sum())} missing or non-finite values "
                         f"(first at row {row}, column {col})")
    return arr


def check_varies(y: np.ndarray, name: str = "metric") -> None:
    if np.ptp(y) == 0:
        raise UsageError(f"{name}: constant (every unit has {y[0]:g}); there is no effect to "
                         "estimate")
