"""CUPAC (DoorDash 2020): CUPED with an ML prediction of the outcome as the covariate."""

from __future__ import annotations

import numpy as np

from evaluation.abtest.cuped import cuped
from evaluation.abtest.result import AbTestResult


def cupac(y: np.ndarray, t: np.ndarray, prediction: np.ndarray, *,
          alpha: float = 0.05) -> AbTestResult:
    """CUPED on ``prediction``.

    ``prediction`` must not have seen the unit's own outcome: either a model trained on
    pre-experiment data, or the cross-fitted predictions of ``crossfit.crossfit_predict``.
    An in-sample prediction leaks the outcome into the covariate (the pitfall noted in
    abtest.md 1.4) and shrinks the standard error below the truth.
    """
    res = cuped(y, t, prediction, alpha=alpha, method="cupac")
    return res.with_(detail={**res.detail, "covariate": "cross-fitted prediction"})
