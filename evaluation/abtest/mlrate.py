"""MLRATE (Guo et al., NeurIPS 2021): cross-fitted prediction, interaction term, sandwich SE."""

from __future__ import annotations

import numpy as np

from evaluation.abtest.ols import HC, ols_hc
from evaluation.abtest.result import AbTestResult, z_result


def mlrate(y: np.ndarray, t: np.ndarray, prediction: np.ndarray, *, hc: HC = "HC1",
           alpha: float = 0.05) -> AbTestResult:
    """Coefficient on T of OLS ``y ~ 1 + T + g + T (g - mean g)`` with an HC (default HC1, as
    in the paper) covariance. ``prediction`` = out-of-fold g(X) (``crossfit_predict``)."""
    g = np.asarray(prediction, dtype=float)
    tt = t.astype(float)
    design = np.column_stack([np.ones_like(g), tt, g, tt * (g - g.mean())])
    fit = ols_hc(design, y, hc)
    n1 = int(t.sum())
    return z_result("mlrate", float(fit.coef[1]), float(np.sqrt(fit.cov[1, 1])), alpha=alpha,
                    n_control=t.size - n1, n_treatment=n1,
                    detail={"hc": hc, "coef": fit.coef.tolist()})
