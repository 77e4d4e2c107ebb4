"""Ratio metrics R = sum(Y) / sum(N) per arm: delta method and linearisation.

* Delta method (Deng, Knoblich & Lu, KDD 2018): per arm,
  Var(R) ~ (1/n) [s_Y^2/m_N^2 - 2 m_Y s_YN/m_N^3 + m_Y^2 s_N^2/m_N^4].
* Per-arm linearisation e_i = (Y_i - R_arm N_i) / mean(N_arm): the Welch SE of e is exactly the
  delta-method SE (the identity is tested).
* Pooled linearisation W_i = Y_i/m_N - m_Y N_i/m_N^2 (pooled means, papers.md 3.4): one per-unit
  metric for both arms with mean(W_1) - mean(W_0) ~ R_1 - R_0 to first order, so every per-unit
  estimator (CUPED, Lin, CUPAC, MLRATE, STATE) applies to W. ``analyze`` reports
  (R_1 - R_0) + (estimate on W - difference in means of W), i.e. the exact ratio difference moved
  by the method's covariate correction, with the method's SE on W.
"""

from __future__ import annotations

import numpy as np

from evaluation.abtest.result import AbTestResult, z_result
from formulations.errors import UsageError


def check_denominator(den: np.ndarray, t: np.ndarray, name: str = "denominator") -> None:
    for arm, label in ((0, "control"), (1, "variant")):
        total = float(den[t == arm].sum())
        if total == 0:
            raise UsageError(f"{name}: sums to zero in the {label} arm; the ratio sum(numerator)/"
                             f"sum({name}) is undefined there")


def arm_ratios(num: np.ndarray, den: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    return (float(num[t == 0].sum() / den[t == 0].sum()),
            float(num[t == 1].sum() / den[t == 1].sum()))


def delta_variance(num: np.ndarray, den: np.ndarray) -> float:
    """Delta-method variance of sum(num)/sum(den) for one arm of iid units (ddof=1 moments)."""
    n = num.size
    my, mn = num.mean(), den.mean()
    cov = np.cov(num, den, ddof=1)
    return float((cov[0, 0] / mn**2 - 2 * my * cov[0, 1] / mn**3 + my**2 * cov[1, 1] / mn**4) / n)


def ratio_delta(num: np.ndarray, den: np.ndarray, t: np.ndarray, *,
                alpha: float = 0.05) -> AbTestResult:
    """Difference of the arms' ratios with the delta-method SE (method name ``dim``)."""
    check_denominator(den, t)
    r0, r1 = arm_ratios(num, den, t)
    v = delta_variance(num[t == 1], den[t == 1]) + delta_variance(num[t == 0], den[t == 0])
    n1 = int(t.sum())
    return z_result("dim", r1 - r0, float(np.sqrt(v)), alpha=alpha, n_control=t.size - n1,
                    n_treatment=n1, detail={"ratio_control": r0, "ratio_variant": r1,
                                            "ratio": "delta method"})


def arm_linearised(num: np.ndarray, den: np.ndarray, t: np.ndarray) -> np.ndarray:
    """e_i = (Y_i - R_arm N_i) / mean(N_arm), each unit against its own arm's ratio."""
    e = np.empty(num.size)
    for arm in (0, 1):
        m = t == arm
        r = num[m].sum() / den[m].sum()
        e[m] = (num[m] - r * den[m]) / den[m].mean()
    return e


def linearise(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """W_i = Y_i/m_N - m_Y N_i/m_N^2 with the pooled means m_Y, m_N."""
    my, mn = num.mean(), den.mean()
    if mn == 0:
        raise UsageError("denominator: its mean is zero; the ratio metric is undefined")
    return num / mn - my * den / mn**2


def move_effect(res: AbTestResult, effect: float) -> AbTestResult:
    """The same SE and notes around a new point estimate."""
    moved = z_result(res.method, effect, res.se, alpha=res.alpha, n_control=res.n_control,
                     n_treatment=res.n_treatment, notes=res.notes, detail=res.detail)
    return moved.with_(variance_reduction=res.variance_reduction)
