"""Difference in means (Neyman) with the Welch standard error."""

from __future__ import annotations

import numpy as np

from evaluation.abtest.result import AbTestResult, z_result


def arm_moments(y: np.ndarray, t: np.ndarray) -> tuple[float, float, float, float, int, int]:
    """(mean_control, var_control, mean_variant, var_variant, n_control, n_variant), ddof=1."""
    y0, y1 = y[t == 0], y[t == 1]
    return (float(y0.mean()), float(y0.var(ddof=1)), float(y1.mean()), float(y1.var(ddof=1)),
            y0.size, y1.size)


def diff_in_means(y: np.ndarray, t: np.ndarray, *, alpha: float = 0.05) -> AbTestResult:
    """``mean(y | t=1) - mean(y | t=0)`` with ``se = sqrt(s1^2/n1 + s0^2/n0)``."""
    m0, v0, m1, v1, n0, n1 = arm_moments(y, t)
    se = float(np.sqrt(v1 / n1 + v0 / n0))
    return z_result("dim", m1 - m0, se, alpha=alpha, n_control=n0, n_treatment=n1,
                    detail={"mean_control": m0, "mean_variant": m1})
