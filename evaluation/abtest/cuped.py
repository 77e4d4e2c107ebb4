"""CUPED (Deng, Xu, Kohavi & Walker, WSDM 2013) with theta = the pooled OLS slope."""

from __future__ import annotations

import numpy as np

from evaluation.abtest.diff_in_means import arm_moments
from evaluation.abtest.result import AbTestResult, z_result


def cuped_theta(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Slopes of the OLS of ``y`` on ``[1, x]``, both arms pooled (Cov(Y,X)/Var(X) for one x)."""
    xc = x - x.mean(axis=0)
    yc = y - y.mean()
    theta, *_ = np.linalg.lstsq(xc, yc, rcond=None)
    return np.asarray(theta, dtype=float)


def cuped(y: np.ndarray, t: np.ndarray, x: np.ndarray, *, alpha: float = 0.05,
          method: str = "cuped") -> AbTestResult:
    """Difference in means of ``y - (x - mean x) theta``; theta is treated as fixed in the SE.

    With several covariate columns this is multivariate CUPED (theta = the pooled multiple-OLS
    slopes). Unbiased for any fixed theta because E[mean x_1 - mean x_0] = 0 under randomisation.
    """
    x2 = x[:, None] if x.ndim == 1 else x
    if x2.shape[1] == 0:
        raise ValueError(f"{method}: needs at least one covariate")
    theta = cuped_theta(y, x2)
    adjusted = y - (x2 - x2.mean(axis=0)) @ theta
    m0, v0, m1, v1, n0, n1 = arm_moments(adjusted, t)
    se = float(np.sqrt(v1 / n1 + v0 / n0))
    return z_result(method, m1 - m0, se, alpha=alpha, n_control=n0, n_treatment=n1,
                    detail={"theta": theta.tolist()})
