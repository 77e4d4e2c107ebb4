"""AbTestResult: the one value every A/B-test estimator returns."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from scipy import stats


@dataclass(frozen=True)
class AbTestResult:
    """An estimated average treatment effect (variant minus control) with its uncertainty.

    Inference is large-sample normal (z): ``ci = effect -+ z_{1-alpha/2} * se`` and a two-sided
    p-value. ``variance_reduction`` is ``1 - se^2 / se_dim^2`` against difference in means on the
    same data (None until compared). ``p_holm`` is the Holm-adjusted p-value across the variants of
    a multi-arm experiment (None for a single comparison). ``notes`` are short human-readable
    remarks (fallbacks, warnings); ``detail`` holds method-specific numbers.
    """

    method: str
    effect: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    alpha: float = 0.05
    variance_reduction: float | None = None
    n_control: int = 0
    n_treatment: int = 0
    control: str = "0"
    variant: str = "1"
    p_holm: float | None = None
    notes: tuple[str, ...] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)

    def with_(self, **changes: Any) -> AbTestResult:
        return replace(self, **changes)

    def covers(self, truth: float) -> bool:
        return self.ci_low <= truth <= self.ci_high

    def to_dict(self) -> dict[str, Any]:
        return {
            "control": self.control,
            "variant": self.variant,
            "method": self.method,
            "effect": self.effect,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
            "p_holm": self.p_holm,
            "alpha": self.alpha,
            "variance_reduction": self.variance_reduction,
            "n_control": self.n_control,
            "n_treatment": self.n_treatment,
            "notes": "; ".join(self.notes),
        }


def z_result(
    method: str,
    effect: float,
    se: float,
    *,
    alpha: float = 0.05,
    n_control: int = 0,
    n_treatment: int = 0,
    notes: tuple[str, ...] = (),
    detail: Mapping[str, Any] | None = None,
) -> AbTestResult:
    """Build a result from an estimate and its standard error with a normal reference."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha: expected a number in (0, 1), got {alpha!r}")
    q = float(stats.norm.ppf(1.0 - alpha / 2.0))
    if se > 0 and math.isfinite(se):
        p = float(2.0 * stats.norm.sf(abs(effect) / se))
    else:
        p = float("nan")
    return AbTestResult(
        method=method,
        effect=float(effect),
        se=float(se),
        ci_low=float(effect - q * se),
        ci_high=float(effect + q * se),
        p_value=p,
        alpha=alpha,
        n_control=n_control,
        n_treatment=n_treatment,
        notes=notes,
        detail=dict(detail or {}),
    )
