"""Regression adjustment with treatment-covariate interactions (Lin 2013) and HC standard errors."""

from __future__ import annotations

import numpy as np

from evaluation.abtest.ols import HC, ols_hc
from evaluation.abtest.result import AbTestResult, z_result


def interacted_design(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``[1, T, x~, T * x~]`` with ``x~ = x - mean(x)`` over both arms pooled."""
    x2 = x[:, None] if x.ndim == 1 else x
    xc = x2 - x2.mean(axis=0)
    tt = t.astype(float)[:, None]
    return np.hstack([np.ones_like(tt), tt, xc, tt * xc])


def lin(y: np.ndarray, t: np.ndarray, x: np.ndarray, *, hc: HC = "HC2", alpha: float = 0.05,
        method: str = "lin") -> AbTestResult:
    """The coefficient on T of OLS ``y ~ 1 + T + x~ + T x~``; never less efficient than DIM
    asymptotically, even under misspecification (Lin 2013)."""
    design = interacted_design(t, x)
    fit = ols_hc(design, y, hc)
    n1 = int(t.sum())
    return z_result(method, float(fit.coef[1]), float(np.sqrt(fit.cov[1, 1])), alpha=alpha,
                    n_control=t.size - n1, n_treatment=n1,
                    detail={"hc": hc, "coef": fit.coef.tolist()})
