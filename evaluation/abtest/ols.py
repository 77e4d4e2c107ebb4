"""Ordinary least squares with heteroskedasticity-consistent (HC0-HC3) covariance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

HC = Literal["HC0", "HC1", "HC2", "HC3"]


@dataclass(frozen=True, eq=False)
class OlsFit:
    coef: np.ndarray  # (k,)
    cov: np.ndarray  # (k, k) sandwich covariance
    residuals: np.ndarray  # (n,)
    hc: str


def ols_hc(design: np.ndarray, y: np.ndarray, hc: HC = "HC2") -> OlsFit:
    """OLS of ``y`` on ``design`` (include the intercept column yourself) with an HC covariance.

    Computed through a thin QR decomposition, so leverages h_i are the row sums of Q**2.
    """
    x = np.asarray(design, dtype=float)
    yy = np.asarray(y, dtype=float)
    n, k = x.shape
    if n <= k:
        raise ValueError(f"ols: need more rows ({n}) than columns ({k})")
    q, r = np.linalg.qr(x)
    if np.min(np.abs(np.diag(r))) <= 1e-12 * max(1.0, float(np.max(np.abs(np.diag(r))))):
        raise ValueError("ols: the design matrix is rank deficient (a covariate is constant "
                         "or collinear with the others)")
    coef = np.linalg.solve(r, q.T @ yy)
    resid = yy - x @ coef
    e2 = resid**2
    if hc == "HC0":
        omega = e2
    elif hc == "HC1":
        omega = e2 * n / (n - k)
    else:
        h = np.einsum("ij,ij->i", q, q)
        one_minus_h = np.clip(1.0 - h, 1e-12, None)
        omega = e2 / one_minus_h if hc == "HC2" else e2 / one_minus_h**2
    r_inv = np.linalg.inv(r)
    bread = r_inv @ r_inv.T  # (X'X)^-1
    meat = (x * omega[:, None]).T @ x
    cov = bread @ meat @ bread
    return OlsFit(coef=coef, cov=cov, residuals=resid, hc=hc)
