"""Evaluation of predictions on ExperimentData: thin wrappers over the array functions.

Each function checks the predictions against the data (N units x M = ``data.n_arms`` columns,
in the data's arm order, control first) and passes the data's arrays on. The decision metrics
(EOM, AUCC, Qini / uplift curves) REFUSE observational data: they score a policy by weighting
the units whose received arm the policy would pick by 1 / P(arm), which estimates the policy's
value only when the arm was randomised. Prediction metrics (errors on the factual rows) are
allowed on any data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.aucc import DEFAULT_QUANTILE, AuccResult, aucc, roi_score
from evaluation.eom_curve import (
    EomCurve,
    PairedDifference,
    budget_grid,
    eom_curve,
    max_spend_per_capita,
    paired_difference,
)
from evaluation.policy import Form
from evaluation.prediction_metrics import prediction_metrics
from evaluation.uplift_curves import UpliftCurve, qini_curve, uplift_curve
from formulations.errors import UsageError
from formulations.experiment_data import ExperimentData


def require_randomised(data: ExperimentData, what: str) -> None:
    """A one-line UsageError where ``data`` is observational (see the module docstring)."""
    if data.kind == "observational":
        raise UsageError(
            f"{data.source}: {what} needs randomised data (policy value by inverse propensity "
            f"weighting is unbiased only when the treatment was randomised), and data "
            f"{data.name!r} is observational; evaluate on an RCT split"
        )


def check_shape(data: ExperimentData, name: str, pred: object) -> np.ndarray:
    """``pred`` as a float (N, M) array for the data, or a UsageError naming the mismatch."""
    a = np.asarray(pred, dtype=np.float64)
    want = (data.n_units, data.n_arms)
    if a.shape != want:
        raise UsageError(
            f"{name}: expected shape (units, arms) = {want} for data {data.name!r} (arms "
            f"{list(data.arms)}), got {a.shape}"
        )
    return a


def default_budgets(data: ExperimentData, n: int = 10) -> np.ndarray:
    """10%..100% (n steps) of the data's largest all-one-arm IPW incremental spend."""
    require_randomised(data, "a budget grid from IPW spend")
    return budget_grid(max_spend_per_capita(data.arm, data.cost, data.design_propensity()), n)


def eom_curve_on(
    data: ExperimentData,
    value_pred: np.ndarray,
    cost_pred: np.ndarray,
    budgets_per_capita: np.ndarray | None = None,
    *,
    form: Form = "ipw",
    n_boot: int = 0,
    level: float = 0.95,
    seed: int = 0,
) -> EomCurve:
    """:func:`evaluation.eom_curve.eom_curve` on the data (budgets default to
    :func:`default_budgets`)."""
    require_randomised(data, "EOM")
    vp = check_shape(data, "value_pred", value_pred)
    cp = check_shape(data, "cost_pred", cost_pred)
    b = default_budgets(data) if budgets_per_capita is None else budgets_per_capita
    return eom_curve(data.arm, data.outcome, data.cost, vp, cp, b,
                     propensity=data.design_propensity("EOM"), form=form, n_boot=n_boot,
                     level=level, seed=seed)


def paired_difference_on(
    data: ExperimentData, curve_a: EomCurve, curve_b: EomCurve, *,
    n_boot: int = 1000, level: float = 0.95, seed: int = 0,
) -> PairedDifference:
    """:func:`evaluation.eom_curve.paired_difference` of two curves computed on ``data``."""
    require_randomised(data, "a paired EOM comparison")
    return paired_difference(curve_a, curve_b, data.arm, data.outcome, data.cost,
                             propensity=data.design_propensity(), n_boot=n_boot, level=level,
                             seed=seed)


def _binary(data: ExperimentData, what: str) -> np.ndarray:
    if data.n_arms != 2:
        raise UsageError(f"{data.source}: {what} is for a binary treatment (control and one "
                         f"arm), and data {data.name!r} has {data.n_arms} arms {list(data.arms)}")
    return np.asarray(data.arm == 1)


def aucc_on(
    data: ExperimentData, value_pred: np.ndarray, cost_pred: np.ndarray, *,
    quantile: int = DEFAULT_QUANTILE,
) -> AuccResult:
    """AUCC of ranking by predicted ROI (Δr̂ / Δĉ of arm 1 over control) on binary data."""
    require_randomised(data, "AUCC")
    treated = _binary(data, "AUCC")
    vp = check_shape(data, "value_pred", value_pred)
    cp = check_shape(data, "cost_pred", cost_pred)
    score = roi_score(vp[:, 1] - vp[:, 0], cp[:, 1] - cp[:, 0])
    return aucc(treated, data.outcome, data.cost, score, quantile=quantile)


def uplift_curves_on(data: ExperimentData, value_pred: np.ndarray
                     ) -> tuple[UpliftCurve, UpliftCurve]:
    """(Qini curve, uplift curve) of ranking by predicted uplift r̂_1 - r̂_0 on binary data."""
    require_randomised(data, "a Qini / uplift curve")
    treated = _binary(data, "a Qini / uplift curve")
    vp = check_shape(data, "value_pred", value_pred)
    score = vp[:, 1] - vp[:, 0]
    return qini_curve(treated, data.outcome, score), uplift_curve(treated, data.outcome, score)


def prediction_metrics_on(
    data: ExperimentData, value_pred: np.ndarray, cost_pred: np.ndarray, *,
    true_value: np.ndarray | None = None, true_cost: np.ndarray | None = None,
) -> pd.DataFrame:
    """:func:`evaluation.prediction_metrics.prediction_metrics` on the data, rows by arm label."""
    vp = check_shape(data, "value_pred", value_pred)
    cp = check_shape(data, "cost_pred", cost_pred)
    return prediction_metrics(data.arm, data.outcome, data.cost, vp, cp, true_value=true_value,
                              true_cost=true_cost, arms=data.arms)
