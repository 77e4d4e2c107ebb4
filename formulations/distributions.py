"""Budget distributions discretised at equal-mass quantiles (the ``distribution`` shortcut)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from formulations.errors import UsageError

KINDS = ("lognormal", "normal", "uniform", "triangular")
MAX_POINTS = 10_000  # each point is one solve in a sweep; more is a typo, not a plan


def discretise(
    spec: Mapping[str, object], where: str = "distribution"
) -> tuple[np.ndarray, np.ndarray]:
    """Return (values, probabilities): ``points`` equal-mass cells, each at its median quantile.

    Supported: ``lognormal`` (median, sigma), ``normal`` (mean, sd), ``uniform`` (low, high),
    ``triangular`` (low, mode, high).
    """
    from scipy import stats

    if not isinstance(spec, Mapping):
        raise UsageError(
            f'{where}: expected a table such as {{ kind = "lognormal", median = 100.0, '
            f"sigma = 0.2, points = 9 }}, got {spec!r}"
        )
    kind = spec.get("kind")
    expected = {
        "lognormal": {"median", "sigma"},
        "normal": {"mean", "sd"},
        "uniform": {"low", "high"},
        "triangular": {"low", "mode", "high"},
    }
    if kind not in expected:
        raise UsageError(f"{where}.kind: expected one of {list(KINDS)}, got {kind!r}")
    keys = set(spec) - {"kind", "points"}
    if keys != expected[str(kind)]:
        raise UsageError(
            f"{where}: a {kind} distribution takes keys {sorted(expected[str(kind)])} "
            f"and 'points', got {sorted(keys)}"
        )
    points = spec.get("points", 9)
    if not isinstance(points, int) or isinstance(points, bool) or not 1 <= points <= MAX_POINTS:
        raise UsageError(f"{where}.points: expected an integer in 1..{MAX_POINTS}, got {points!r}")
    params: dict[str, float] = {}
    for key in expected[str(kind)]:
        v = spec[key]
        if not isinstance(v, int | float) or isinstance(v, bool) or not np.isfinite(v):
            raise UsageError(f"{where}.{key}: expected a finite number, got {v!r}")
        params[key] = float(v)
    q = (np.arange(points) + 0.5) / points
    if kind == "lognormal":
        if params["median"] <= 0 or params["sigma"] <= 0:
            raise UsageError(f"{where}: lognormal median and sigma must be > 0")
        values = params["median"] * np.exp(params["sigma"] * stats.norm.ppf(q))
    elif kind == "normal":
        if params["sd"] <= 0:
            raise UsageError(f"{where}.sd: expected > 0, got {params['sd']}")
        values = params["mean"] + params["sd"] * stats.norm.ppf(q)
    elif kind == "uniform":
        if params["high"] <= params["low"]:
            raise UsageError(f"{where}: uniform needs low < high")
        values = params["low"] + (params["high"] - params["low"]) * q
    else:
        lo, mode, hi = params["low"], params["mode"], params["high"]
        if not lo <= mode <= hi or lo == hi:
            raise UsageError(f"{where}: triangular needs low <= mode <= high and low < high")
        values = stats.triang.ppf(q, (mode - lo) / (hi - lo), loc=lo, scale=hi - lo)
    return np.asarray(values, dtype=np.float64), np.full(points, 1.0 / points)
