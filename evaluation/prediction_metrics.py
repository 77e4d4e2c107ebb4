"""Per-arm prediction metrics of outcome and cost models, beside the decision metrics.

On randomised data only the factual cell (unit i, its received arm t_i) is observed, so the
factual metrics compare r̂_{i,t_i} with y_i and ĉ_{i,t_i} with c_i, per received arm:

    RMSE = sqrt(mean (pred - obs)^2),  MAE = mean |pred - obs|,  mean error = mean (pred - obs)

(a positive mean error over-predicts). A model can fit the factual cells well and still rank
arms badly; the decision metrics (EOM, AUCC) are the ones that score the allocation. On a
simulator the truth is known for every (unit, arm): then RMSE against the true expected value /
cost over all N units of each arm, and of the incremental predictions (arm minus control,
r̂_ij - r̂_i0 against r_ij - r_i0), which is what the allocation actually uses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaluation.eom_curve import check_truth, rct_arrays
from evaluation.lambda_path import check_predictions
from formulations.errors import UsageError


def _grouped(err: np.ndarray, group: np.ndarray, m: int) -> tuple[np.ndarray, ...]:
    """Per group and overall: count, RMSE, MAE, mean error (NaN for an empty group)."""
    cnt = np.bincount(group, minlength=m).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rmse = np.sqrt(np.bincount(group, weights=err * err, minlength=m) / cnt)
        mae = np.bincount(group, weights=np.abs(err), minlength=m) / cnt
        me = np.bincount(group, weights=err, minlength=m) / cnt
    overall = (float(err.size), float(np.sqrt(np.mean(err * err))), float(np.mean(np.abs(err))),
               float(np.mean(err)))
    return tuple(np.append(a, o) for a, o in zip((cnt, rmse, mae, me), overall, strict=True))


def _rmse_by_arm(err: np.ndarray) -> np.ndarray:
    """(M+1,) RMSE per column of an (N, M) error and over every cell."""
    return np.append(np.sqrt(np.mean(err * err, axis=0)), np.sqrt(np.mean(err * err)))


def prediction_metrics(
    received: Sequence[int] | np.ndarray,
    outcome: Sequence[float] | np.ndarray,
    cost: Sequence[float] | np.ndarray,
    value_pred: np.ndarray,
    cost_pred: np.ndarray,
    *,
    true_value: np.ndarray | None = None,
    true_cost: np.ndarray | None = None,
    arms: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per arm (and a last row "all"): factual errors, and errors against a truth.

    Columns: ``arm``, ``n_rows`` (factual rows), ``outcome_rmse``, ``outcome_mae``,
    ``outcome_mean_error``, ``cost_rmse``, ``cost_mae``, ``cost_mean_error``; with
    ``true_value``: ``value_rmse_true`` (all N units) and ``uplift_rmse_true`` (arm minus
    control; NaN for the control row, arms 1..M-1 for "all"); with ``true_cost`` the same for
    cost (``cost_rmse_true``, ``incremental_cost_rmse_true``). Errors are prediction minus
    observation (or truth).
    """
    vp, cp = check_predictions(value_pred, cost_pred)
    n, m = vp.shape
    d = rct_arrays(received, outcome, cost, None, n_arms=m)
    if d.n != n:
        raise UsageError(f"value_pred/cost_pred: expected {d.n} rows (one per unit, like "
                         f"'received'), got {n}")
    labels = [str(a) for a in arms] if arms is not None else [str(j) for j in range(m)]
    if len(labels) != m:
        raise UsageError(f"arms: expected {m} labels (one per prediction column), got "
                         f"{len(labels)}")
    rows = np.arange(n)
    out: dict[str, object] = {"arm": [*labels, "all"]}
    for name, pred, obs in (("outcome", vp, d.outcome), ("cost", cp, d.cost)):
        cnt, rmse, mae, me = _grouped(pred[rows, d.received] - obs, d.received, m)
        if name == "outcome":
            out["n_rows"] = cnt.astype(np.int64)
        out[f"{name}_rmse"], out[f"{name}_mae"], out[f"{name}_mean_error"] = rmse, mae, me
    for prefix, inc_name, pred, truth, tname in (
        ("value", "uplift", vp, true_value, "true_value"),
        ("cost", "incremental_cost", cp, true_cost, "true_cost"),
    ):
        if truth is None:
            continue
        tr = check_truth(tname, truth, vp.shape)
        out[f"{prefix}_rmse_true"] = _rmse_by_arm(pred - tr)
        inc_err = (pred - pred[:, :1]) - (tr - tr[:, :1])
        inc = np.full(m + 1, np.nan)
        if m > 1:
            inc[1:m] = _rmse_by_arm(inc_err[:, 1:])[:-1]
            inc[m] = float(np.sqrt(np.mean(inc_err[:, 1:] ** 2)))
        out[f"{inc_name}_rmse_true"] = inc
    return pd.DataFrame(out)
