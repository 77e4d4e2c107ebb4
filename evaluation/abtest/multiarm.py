"""Multi-arm experiments: each variant against the control, Holm-adjusted across variants."""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluation.abtest.analyze import analyze
from evaluation.abtest.result import AbTestResult
from formulations.errors import UsageError


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values (family-wise error control, any dependence)."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p)
    stepped = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = stepped
    return out


def analyze_arms(y: Any, arms: Any, control: str | None = None, x: Any | None = None, *,
                 denominator: Any | None = None, **options: Any) -> tuple[AbTestResult, ...]:
    """``analyze`` for every variant label against ``control``; ``p_holm`` per method.

    Without ``control`` the arms must be exactly two, labelled 0/1 (or false/true).
    """
    labels = np.asarray(arms).astype(str)
    uniq = list(dict.fromkeys(sorted(set(labels.tolist()))))
    if len(uniq) < 2:
        raise UsageError(f"treatment: only one arm ({uniq[0] if uniq else 'none'}); an A/B test "
                         "needs a control and at least one variant")
    if control is None:
        if len(uniq) == 2 and set(uniq) in ({"0", "1"}, {"False", "True"}, {"0.0", "1.0"}):
            control = "0" if "0" in uniq else ("False" if "False" in uniq else "0.0")
        else:
            raise UsageError(f"treatment: {len(uniq)} arms ({', '.join(uniq[:8])}); name the "
                             "control arm with --control LABEL")
    if control not in uniq:
        raise UsageError(f"control: {control!r} is not an arm; arms are {', '.join(uniq[:8])}")
    yy = np.asarray(y)
    xx = None if x is None else np.asarray(x)
    den = None if denominator is None else np.asarray(denominator)
    per_variant: list[tuple[AbTestResult, ...]] = []
    for variant in (u for u in uniq if u != control):
        mask = (labels == control) | (labels == variant)
        t = (labels[mask] == variant).astype(np.int8)
        res = analyze(yy[mask], t, None if xx is None else xx[mask],
                      denominator=None if den is None else den[mask], **options)
        per_variant.append(tuple(r.with_(control=control, variant=variant) for r in res))
    if len(per_variant) > 1:
        cols = list(zip(*per_variant, strict=True))  # per method, across variants
        fixed_cols = []
        for col in cols:
            p_adj = holm(np.array([r.p_value for r in col]))
            fixed_cols.append([r.with_(p_holm=float(p)) for r, p in zip(col, p_adj, strict=True)])
        per_variant = [tuple(row) for row in zip(*fixed_cols, strict=True)]
    return tuple(r for rs in per_variant for r in rs)
