"""Policy value on randomised data: the Expected Outcome Metric (EOM), IPW and self-normalised.

papers.md §0.5 (Zhao, Fang & Simchi-Levi 2017; Bi-DFCL App. B.1.2): on an RCT, a unit whose
random arm t_i equals the arm the policy would choose stands in for every unit like it, with
weight 1 / p_{t_i}:

    r̄ = (1/N) Σ_i w_i y_i / p_i,        c̄ = (1/N) Σ_i w_i c_i / p_i        (IPW)
    r̄ = Σ_i w_i y_i / p_i / Σ_i w_i / p_i  (and the same for c̄)            (self-normalised, Hajek)

with w_i = 1[t_i = π(x_i)] for a deterministic policy, or w_i = π(t_i | x_i) for a randomised
one (e.g. a cluster plan that gives share n_kj / N_k of cluster k option j). r̄ is the per-capita
value of the policy at its per-capita spend c̄. The self-normalised form is the one the official
DFCL code uses inside its gradient estimator; it is biased but has lower variance. Confidence
intervals are percentile bootstrap intervals over units (a recommendation [I] in papers.md),
with the propensities held fixed (they are the design's, not estimated).

Everything here works on plain arrays: arm received, arm chosen (or the policy's probability of
the received arm), outcome, cost, propensity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from formulations.errors import UsageError

Form = Literal["ipw", "snipw"]
FORMS: tuple[str, ...] = ("ipw", "snipw")


@dataclass(frozen=True)
class PolicyValue:
    """Per-capita value and spend of a policy on randomised data, with bootstrap intervals."""

    value: float
    spend: float
    form: str
    n: int
    matched: float
    """Sum of the match weights w_i (units whose received arm the policy would choose)."""
    value_ci: tuple[float, float] | None = None
    spend_ci: tuple[float, float] | None = None
    level: float = 0.95
    n_boot: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "value": self.value, "spend": self.spend, "form": self.form, "n": self.n,
            "matched": self.matched, "value_ci": self.value_ci, "spend_ci": self.spend_ci,
            "level": self.level, "n_boot": self.n_boot,
        }


def _vector(name: str, x: object, n: int | None) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1:
        raise UsageError(f"{name}: expected a 1-D array (one entry per unit), got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        raise UsageError(
            f"{name}: expected {n} entries (one per unit, like 'received'), got {a.shape[0]}"
        )
    return a


def _finite(name: str, a: np.ndarray) -> np.ndarray:
    try:
        f = a.astype(np.float64)
    except (TypeError, ValueError):
        raise UsageError(f"{name}: expected numbers, got dtype {a.dtype}") from None
    bad = np.flatnonzero(~np.isfinite(f))
    if bad.size:
        raise UsageError(f"{name}: expected finite numbers, found {f[bad[0]]!r} at unit {bad[0]}")
    return f


def arm_share_propensity(received: np.ndarray) -> np.ndarray:
    """p_i = N_{t_i} / N, the randomisation ratio of each unit's arm (papers.md §0.1)."""
    _, inverse, counts = np.unique(received, return_inverse=True, return_counts=True)
    return np.asarray(counts[inverse] / received.shape[0], dtype=np.float64)


def match_weights(
    received: Sequence[object] | np.ndarray,
    chosen: Sequence[object] | np.ndarray | None = None,
    policy_prob: Sequence[float] | np.ndarray | None = None,
) -> np.ndarray:
    """w_i = 1[received_i == chosen_i], or the given π(received_i | x_i)."""
    t = _vector("received", received, None)
    n = t.shape[0]
    if (chosen is None) == (policy_prob is None):
        raise UsageError("give exactly one of 'chosen' (the policy's arm per unit) and "
                         "'policy_prob' (the policy's probability of the received arm)")
    if chosen is not None:
        ch = _vector("chosen", chosen, n)
        return (t == ch).astype(np.float64)
    w = _finite("policy_prob", _vector("policy_prob", policy_prob, n))
    bad = np.flatnonzero((w < 0) | (w > 1))
    if bad.size:
        raise UsageError(
            f"policy_prob: expected probabilities in [0, 1], found {w[bad[0]]!r} at unit {bad[0]}"
        )
    return w


def _estimate(
    w: np.ndarray, y: np.ndarray, c: np.ndarray, p: np.ndarray, form: str
) -> tuple[float, float]:
    ip = w / p
    if form == "ipw":
        n = w.shape[0]
        return float(ip @ y / n), float(ip @ c / n)
    tot = ip.sum()
    if tot <= 0:
        return float("nan"), float("nan")
    return float(ip @ y / tot), float(ip @ c / tot)


def policy_value(
    received: Sequence[object] | np.ndarray,
    outcome: Sequence[float] | np.ndarray,
    *,
    chosen: Sequence[object] | np.ndarray | None = None,
    policy_prob: Sequence[float] | np.ndarray | None = None,
    cost: Sequence[float] | np.ndarray | None = None,
    propensity: Sequence[float] | np.ndarray | None = None,
    form: Form = "ipw",
    n_boot: int = 0,
    level: float = 0.95,
    seed: int = 0,
) -> PolicyValue:
    """EOM of a policy: per-capita value and spend, IPW or self-normalised, optional bootstrap CI.

    Parameters
    ----------
    received:
        (N,) the arm each unit was randomised to (any labels).
    outcome:
        (N,) the observed outcome (the value maximised, e.g. spend, orders).
    chosen / policy_prob:
        exactly one: (N,) the arm the policy picks for each unit (same labels as ``received``),
        or (N,) the probability the (randomised) policy gives the received arm.
    cost:
        (N,) the realised cost of each unit; zeros if omitted.
    propensity:
        (N,) P(received arm | unit) in (0, 1]; default the arm's share of the sample (an RCT).
    form:
        "ipw" (unbiased) or "snipw" (self-normalised, Hajek).
    n_boot, level, seed:
        percentile bootstrap over units; 0 = no interval.
    """
    if form not in FORMS:
        raise UsageError(f"form: expected one of {list(FORMS)}, got {form!r}")
    t = _vector("received", received, None)
    n = t.shape[0]
    if n == 0:
        raise UsageError("received: expected at least one unit, got an empty array")
    w = match_weights(t, chosen, policy_prob)
    y = _finite("outcome", _vector("outcome", outcome, n))
    c = np.zeros(n) if cost is None else _finite("cost", _vector("cost", cost, n))
    if propensity is None:
        p = arm_share_propensity(t)
    else:
        p = _finite("propensity", _vector("propensity", propensity, n))
        bad = np.flatnonzero((p <= 0) | (p > 1))
        if bad.size:
            raise UsageError(
                f"propensity: expected values in (0, 1], found {p[bad[0]]!r} at unit {bad[0]}"
            )
    if not isinstance(n_boot, int) or n_boot < 0:
        raise UsageError(f"n_boot: expected a non-negative integer, got {n_boot!r}")
    if not 0 < level < 1:
        raise UsageError(f"level: expected 0 < level < 1, got {level!r}")
    value, spend = _estimate(w, y, c, p, form)
    vci = sci = None
    if n_boot:
        vb, sb = bootstrap(w, y, c, p, form, n_boot=n_boot, seed=seed)
        a = (1 - level) / 2
        vci = (float(np.nanquantile(vb, a)), float(np.nanquantile(vb, 1 - a)))
        sci = (float(np.nanquantile(sb, a)), float(np.nanquantile(sb, 1 - a)))
    return PolicyValue(value=value, spend=spend, form=form, n=n, matched=float(w.sum()),
                       value_ci=vci, spend_ci=sci, level=level, n_boot=n_boot)


def bootstrap(
    w: np.ndarray, y: np.ndarray, c: np.ndarray, p: np.ndarray, form: str, *,
    n_boot: int, seed: int = 0, chunk: int = 2_000_000,
) -> tuple[np.ndarray, np.ndarray]:
    """(n_boot,) bootstrap replicates of (value, spend); index draws in chunks of ~``chunk``."""
    rng = np.random.default_rng(seed)
    n = w.shape[0]
    ip = w / p
    a, b = ip * y, ip * c
    per = max(1, chunk // max(n, 1))
    vals, spends = [], []
    for start in range(0, n_boot, per):
        k = min(per, n_boot - start)
        idx = rng.integers(0, n, size=(k, n))
        sa, sb = a[idx].sum(axis=1), b[idx].sum(axis=1)
        if form == "ipw":
            vals.append(sa / n)
            spends.append(sb / n)
        else:
            tot = ip[idx].sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                vals.append(np.where(tot > 0, sa / tot, np.nan))
                spends.append(np.where(tot > 0, sb / tot, np.nan))
    return np.concatenate(vals), np.concatenate(spends)


def lagrangian_choice(value_pred: np.ndarray, cost_pred: np.ndarray, lam: float) -> np.ndarray:
    """(N,) argmax_j (r̂_ij - λ ĉ_ij): the policy π_λ of papers.md §0.2 (first index on ties)."""
    return np.asarray(np.argmax(value_pred - lam * cost_pred, axis=1), dtype=np.int64)


def eom_at_budget(
    received: Sequence[int] | np.ndarray,
    outcome: Sequence[float] | np.ndarray,
    cost: Sequence[float] | np.ndarray,
    value_pred: np.ndarray,
    cost_pred: np.ndarray,
    budget_per_capita: float,
    *,
    propensity: Sequence[float] | np.ndarray | None = None,
    form: Form = "ipw",
    tol: float = 1e-7,
    max_iter: int = 100,
    n_boot: int = 0,
    seed: int = 0,
) -> tuple[float, PolicyValue]:
    """EOM at a per-capita budget (papers.md §0.3 Algorithm 2, §0.5); returns (λ*, PolicyValue).

    ``received`` are arm indices 0..M-1 into the columns of ``value_pred`` / ``cost_pred``, arm
    0 the control. The spend matched to ``budget_per_capita`` is INCREMENTAL over the
    all-control policy, by the same estimator (``form``): S(π) - S(all control). With a control
    that costs 0 (the usual case) that is the policy's spend itself.

    λ* is the answer the papers' bisection on λ converges to, computed exactly on the λ path
    (:mod:`evaluation.lambda_path`): the spend estimate is a step function of λ; walking λ
    down from +inf, λ* is the first breakpoint at which the policy just below it would spend
    more than the budget, and the policy evaluated is the one just above λ* (every hull
    increment with efficiency > λ*); λ* = 0 when the λ = 0 policy fits. The returned
    ``PolicyValue`` has the policy's per-capita value, its incremental spend (<= the budget
    unless no policy on the path fits) and, with ``n_boot``, percentile bootstrap intervals
    with the policy held fixed. ``tol`` and ``max_iter`` (the bisection's) are accepted for
    compatibility and ignored: nothing is approximated. Many budgets at once:
    :func:`evaluation.eom_curve.eom_curve`.
    """
    from evaluation.eom_curve import eom_curve

    t = np.asarray(received)
    vp, cp = np.asarray(value_pred, dtype=np.float64), np.asarray(cost_pred, dtype=np.float64)
    if vp.ndim != 2 or vp.shape != cp.shape or vp.shape[0] != t.shape[0]:
        raise UsageError(
            f"value_pred/cost_pred: expected shape (N, M) = ({t.shape[0]}, M) each, got "
            f"{vp.shape} and {cp.shape}"
        )
    if t.dtype.kind not in "iu" or t.min() < 0 or t.max() >= vp.shape[1]:
        raise UsageError(f"received: expected arm indices 0..{vp.shape[1] - 1} (columns of the "
                         "predictions)")
    curve = eom_curve(t, outcome, cost, vp, cp, [budget_per_capita], propensity=propensity,
                      form=form, n_boot=n_boot, seed=seed)

    def ci(a: np.ndarray | None) -> tuple[float, float] | None:
        return None if a is None else (float(a[0, 0]), float(a[0, 1]))

    return float(curve.lam[0]), PolicyValue(
        value=float(curve.value[0]), spend=float(curve.spend[0]), form=form, n=curve.n,
        matched=float(curve.matched[0]), value_ci=ci(curve.value_ci), spend_ci=ci(curve.spend_ci),
        level=curve.level, n_boot=n_boot,
    )
