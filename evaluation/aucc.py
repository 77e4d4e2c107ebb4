"""AUCC: the Area Under the Cost Curve of a ranking, binary treatment (papers.md §0.6).

The metric of the DFCL authors' ``get_uplift_model_aucc`` (``KDD2024-DFCL/Metric.py``,
[C-code]), written here from its description:

1. rank units by a score descending (the predicted ROI Δr̂ / Δĉ, :func:`roi_score`);
2. n_t, n_c = the sizes of the treated and control groups of the whole test set;
   Δreward = mean(y | t) - mean(y | c) and Δcost = mean(c | t) - mean(c | c) overall;
3. walk down the ranking accumulating treated and control sums; the cost curve at rank i is
   (C_t(i) / n_t - C_c(i) / n_c, R_t(i) / n_t - R_c(i) / n_c) (divided by the TOTAL group
   sizes, not the ones ranked so far). A point is recorded at the first rank where the
   incremental cost reaches j Δcost / quantile (j = 1 .. quantile - 1, one j per rank at most,
   in order), and at the last rank;
4. AUCC = Σ recorded incremental rewards (with the leading 0) / (Δreward (quantile + 1)).

A perfect ROI ranking bows the curve above the chord from (0, 0) to (Δcost, Δreward); a random
ranking follows the chord, so AUCC ~ 0.5. Because the denominator is always quantile + 1, a
curve that never reaches some thresholds (incremental cost falling back) records fewer points
and scores lower. Ties in the score keep the input order (the reference's unstable sort leaves
them unspecified).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.policy import _finite, _vector
from formulations.errors import UsageError

#: the notebooks' quantile
DEFAULT_QUANTILE = 200


@dataclass(frozen=True, eq=False)
class AuccResult:
    """AUCC and its cost curve (the recorded points, the leading (0, 0) first)."""

    aucc: float
    delta_cost: np.ndarray
    """(P,) incremental cost C_t / n_t - C_c / n_c at each recorded point."""
    delta_reward: np.ndarray
    """(P,) incremental reward at each recorded point."""
    n_treated: np.ndarray
    """(P,) treated units ranked up to each point."""
    n_control: np.ndarray
    total_delta_cost: float
    total_delta_reward: float
    quantile: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"delta_cost": self.delta_cost, "delta_reward": self.delta_reward,
                             "n_treated": self.n_treated, "n_control": self.n_control})


def roi_score(delta_value_pred: np.ndarray, delta_cost_pred: np.ndarray,
              eps: float = 1e-6) -> np.ndarray:
    """Predicted ROI Δr̂ / Δĉ, denominators with |Δĉ| < eps set to eps (papers.md §0.6)."""
    dv = np.asarray(delta_value_pred, dtype=np.float64)
    dc = np.asarray(delta_cost_pred, dtype=np.float64)
    if dv.shape != dc.shape:
        raise UsageError(f"delta_value_pred/delta_cost_pred: expected the same shape, got "
                         f"{dv.shape} and {dc.shape}")
    return np.asarray(dv / np.where(np.abs(dc) < eps, eps, dc))


def _first_at_least(x: np.ndarray, start: int, threshold: float) -> int:
    """First index >= start with x[i] >= threshold, or -1; scans forward in growing chunks."""
    size = 4096
    pos = start
    while pos < x.shape[0]:
        end = min(x.shape[0], pos + size)
        hit = np.flatnonzero(x[pos:end] >= threshold)
        if hit.size:
            return pos + int(hit[0])
        pos, size = end, size * 2
    return -1


def aucc(
    treated: np.ndarray, reward: np.ndarray, cost: np.ndarray, score: np.ndarray, *,
    quantile: int = DEFAULT_QUANTILE,
) -> AuccResult:
    """AUCC of ranking units by ``score`` (descending) on binary-treatment RCT data.

    Parameters
    ----------
    treated:
        (N,) bool (or 0/1): the unit received the treatment.
    reward, cost:
        (N,) observed reward (value) and cost.
    score:
        (N,) the ranking score, e.g. :func:`roi_score` of the predicted uplifts.
    quantile:
        number of cost thresholds (the notebooks use 200).

    Returns
    -------
    AuccResult
        AUCC (NaN when the overall Δreward is 0) and the recorded cost curve. Work is O(N log N)
        for the sort plus O(N) (the threshold walk scans forward only).
    """
    t = _vector("treated", treated, None)
    n = t.shape[0]
    if t.dtype != np.bool_:
        if not np.isin(t, (0, 1)).all():
            raise UsageError("treated: expected booleans or 0/1 (binary treatment)")
        t = t.astype(bool)
    yr = _finite("reward", _vector("reward", reward, n))
    yc = _finite("cost", _vector("cost", cost, n))
    sc = _finite("score", _vector("score", score, n))
    if isinstance(quantile, bool) or not isinstance(quantile, int) or quantile < 1:
        raise UsageError(f"quantile: expected a positive integer, got {quantile!r}")
    n_t = int(t.sum())
    n_c = n - n_t
    if n_t == 0 or n_c == 0:
        raise UsageError(f"treated: expected both treated and control units, got {n_t} treated "
                         f"and {n_c} control")
    order = np.argsort(-sc, kind="stable")
    t, yr, yc = t[order], yr[order], yc[order]
    total_reward = float(yr[t].mean() - yr[~t].mean())
    total_cost = float(yc[t].mean() - yc[~t].mean())
    step = total_cost / quantile
    inc_cost = np.cumsum(np.where(t, yc, 0.0)) / n_t - np.cumsum(np.where(t, 0.0, yc)) / n_c
    inc_reward = np.cumsum(np.where(t, yr, 0.0)) / n_t - np.cumsum(np.where(t, 0.0, yr)) / n_c
    points: list[int] = []
    last, j = -1, 1
    while j < quantile:
        i = _first_at_least(inc_cost, last + 1, step * j)
        if i < 0 or i == n - 1:
            break
        points.append(i)
        last, j = i, j + 1
    points.append(n - 1)
    idx = np.asarray(points, dtype=np.int64)
    n_treated_at = np.cumsum(t)[idx]
    curve_reward = np.concatenate([[0.0], inc_reward[idx]])
    value = float("nan") if total_reward == 0 else float(
        np.sum(curve_reward) / (total_reward * (quantile + 1)))
    return AuccResult(
        aucc=value, delta_cost=np.concatenate([[0.0], inc_cost[idx]]), delta_reward=curve_reward,
        n_treated=np.concatenate([[0], n_treated_at]),
        n_control=np.concatenate([[0], idx + 1 - n_treated_at]),
        total_delta_cost=total_cost, total_delta_reward=total_reward, quantile=quantile,
    )
