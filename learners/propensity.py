"""Estimated propensities for observational logs (which rarely record them).

A method that needs P(received arm | x) on an observational log without a propensity column
estimates it with scikit-learn's multinomial logistic regression on the model's encoded features
and says so (the training summary records ``propensity: "estimated (logistic regression)"``).
Estimates are clipped to [``floor``, 1] so that a unit the logging policy almost never treats
that way does not get an unbounded weight; the clipping (a bias-variance trade-off) is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formulations.experiment_data import ExperimentData
from learners.features import FeatureSchema

FLOOR = 0.01


@dataclass(frozen=True, eq=False)
class EstimatedPropensity:
    propensity: np.ndarray
    """(N,) estimated P(received arm | x), clipped"""
    clipped: int
    """units whose estimate was below the floor"""
    method: str = "logistic regression"


def estimate_propensity(
    data: ExperimentData, schema: FeatureSchema | None = None, *, floor: float = FLOOR,
    seed: int = 0,
) -> EstimatedPropensity:
    """P(received arm | x) by multinomial logistic regression on the encoded features."""
    from sklearn.linear_model import LogisticRegression

    sch = schema or FeatureSchema.fit(data.features)
    x = sch.encode(data).astype(np.float64)
    present = np.unique(data.arm)
    model = LogisticRegression(max_iter=500, random_state=seed).fit(x, data.arm)
    probs = model.predict_proba(x)
    col = np.searchsorted(present, data.arm)
    p = probs[np.arange(data.n_units), col]
    clipped = int(np.count_nonzero(p < floor))
    return EstimatedPropensity(np.clip(p, floor, 1.0), clipped)
