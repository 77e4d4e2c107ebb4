"""Where STATE is known to fail (abtest.md 1.8), and how that is detected.

The t-likelihood fit estimates a robust *location* shift. That equals the mean effect only when
the effect is an additive shift of symmetric noise, or when the contamination is rare gross
outliers. It fails on
  * point masses (zero-inflated revenue, counts, 0/1 metrics): the fit collapses onto the mass,
    giving an effect near 0 with a standard error near 0 (A/A false-positive rate up to 0.86);
  * strongly skewed outcomes with multiplicative effects: the robust location moves less than the
    mean (68% of the effect lost in the lognormal x1.10 simulation, coverage 0).
A/A tests alone do not catch the second case, so the guard looks at the data, not at p-values:
  * the share of the most frequent metric value (a point mass when >= ``mode_share_max``);
  * the decile (Kelly) skewness of the working-model residuals, (q90 + q10 - 2 q50)/(q90 - q10),
    which ignores the outer 10% on each side, so rare gross outliers (what STATE is for) do not
    trip it while a skewed bulk (lognormal: 0.57 at sigma 1) does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MODE_SHARE_MAX = 0.05
SKEW_MAX = 0.15


@dataclass(frozen=True)
class GuardReport:
    triggered: bool
    reasons: tuple[str, ...]
    mode_share: float
    mode_value: float
    kelly_skewness: float


def kelly_skewness(values: np.ndarray) -> float:
    q10, q50, q90 = np.quantile(values, [0.1, 0.5, 0.9])
    spread = q90 - q10
    return 0.0 if spread <= 0 else float((q90 + q10 - 2 * q50) / spread)


def check_state(y: np.ndarray, residuals: np.ndarray, *, mode_share_max: float = MODE_SHARE_MAX,
                skew_max: float = SKEW_MAX) -> GuardReport:
    values, counts = np.unique(y, return_counts=True)
    top = int(np.argmax(counts))
    share = float(counts[top] / y.size)
    skew = kelly_skewness(residuals)
    reasons = []
    if share >= mode_share_max:
        reasons.append(f"point mass: {share:.1%} of units have metric = {values[top]:g} "
                       f"(limit {mode_share_max:.0%})")
    if abs(skew) > skew_max:
        reasons.append(f"skewed residuals: decile skewness {skew:+.3f} (limit +-{skew_max:g})")
    return GuardReport(triggered=bool(reasons), reasons=tuple(reasons), mode_share=share,
                       mode_value=float(values[top]), kelly_skewness=skew)
