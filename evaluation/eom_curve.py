"""EOM curves: policy value of predictions at matched spend over a grid of budgets.

papers.md §0.3 / §0.5. For predictions (r̂, ĉ) (N, M) the Lagrangian policy π_λ moves along
the λ path (:mod:`evaluation.lambda_path`). On randomised data the value and spend of every
policy on the path are IPW (or self-normalised) estimates; for each per-capita budget B the
policy is the one the matched-spend rule picks (:func:`evaluation.lambda_path.lambda_for_budget`)
with spend INCREMENTAL over the all-control policy (arm 0), both by the same estimator:

    IPW:          V(π) = (1/N) Σ_i w_i y_i / p_i,      S(π) = (1/N) Σ_i w_i c_i / p_i
    self-normal.: V(π) = Σ_i w_i y_i / p_i / Σ_i w_i / p_i   (and S the same way)
    w_i = 1[t_i = π(i)];  spend(π) = S(π) - S(all control);  uplift(π) = V(π) - V(all control)

Intervals are percentile bootstrap intervals over units with each budget's policy held fixed
(the policy is not re-matched inside a replicate); uplift and spend intervals are of the paired
differences to the all-control policy in the same resample.

The simulator side (:func:`true_value_at_budget`, :func:`true_policy_value`) uses the true
expected value and cost (N, M) instead: the "matched true spend" protocol picks, per budget, the
path policy whose TRUE incremental spend (1/N) Σ_i (c_{i,π(i)} - c_{i,0}) meets the budget by
the same rule, and reports its true value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.lambda_path import (
    LambdaPath,
    check_predictions,
    lambda_for_budget,
    path_of_checked,
)
from evaluation.policy import FORMS, Form, _finite, _vector
from evaluation.resample import bootstrap_sums, percentile_interval
from formulations.errors import UsageError

ArrayLike = Sequence[float] | np.ndarray


@dataclass(frozen=True, eq=False)
class EomCurve:
    """Estimated policy value of one model's predictions at each per-capita budget.

    Attributes
    ----------
    budgets, lam:
        (K,) per-capita incremental budgets and the matched λ* of each.
    value, uplift, spend:
        (K,) per-capita value V(π), uplift V(π) - V(all control) and incremental spend
        S(π) - S(all control) of each budget's policy, by the estimator ``form``.
    fits:
        (K,) spend <= budget (False only where no policy on the path fits, e.g. B < 0).
    matched:
        (K,) number of units whose received arm the budget's policy picks.
    chosen:
        (K, N) arm the policy picks for every unit at each budget.
    control_value, control_spend:
        per-capita value and (absolute) spend of the all-control policy by the same estimator.
    value_ci, uplift_ci, spend_ci:
        (K, 2) percentile bootstrap intervals, or None without bootstrap.
    """

    budgets: np.ndarray
    lam: np.ndarray
    value: np.ndarray
    uplift: np.ndarray
    spend: np.ndarray
    fits: np.ndarray
    matched: np.ndarray
    chosen: np.ndarray
    control_value: float
    control_spend: float
    n: int
    form: str
    value_ci: np.ndarray | None = None
    uplift_ci: np.ndarray | None = None
    spend_ci: np.ndarray | None = None
    level: float = 0.95
    n_boot: int = 0
    seed: int = 0

    def match_mask(self, received: ArrayLike) -> np.ndarray:
        """(K, N) bool: units whose received arm each budget's policy picks."""
        t = np.asarray(received)
        if t.shape != (self.n,):
            raise UsageError(f"received: expected {self.n} entries (the curve's units), got "
                             f"shape {t.shape}")
        return np.asarray(self.chosen == t[None, :])

    def to_frame(self) -> pd.DataFrame:
        """One row per budget: budget, lam, value, uplift, spend, fits, matched (+ CIs)."""
        cols: dict[str, np.ndarray] = {
            "budget": self.budgets, "lam": self.lam, "value": self.value,
            "uplift": self.uplift, "spend": self.spend, "fits": self.fits,
            "matched": self.matched,
        }
        for name, ci in (("value", self.value_ci), ("uplift", self.uplift_ci),
                         ("spend", self.spend_ci)):
            if ci is not None:
                cols[f"{name}_lo"], cols[f"{name}_hi"] = ci[:, 0], ci[:, 1]
        return pd.DataFrame(cols)


@dataclass(frozen=True)
class RctArrays:
    """Validated randomised data: arm indices, outcome, cost, propensity (each (N,))."""

    received: np.ndarray
    outcome: np.ndarray
    cost: np.ndarray
    propensity: np.ndarray

    @property
    def n(self) -> int:
        return int(self.received.shape[0])


def rct_arrays(
    received: ArrayLike, outcome: ArrayLike, cost: ArrayLike,
    propensity: ArrayLike | None = None, *, n_arms: int | None = None,
) -> RctArrays:
    """Check (N,) arm indices 0..M-1, finite outcome and cost, propensity in (0, 1].

    The propensity defaults to each arm's share of the sample (an RCT, papers.md §0.1).
    """
    t = _vector("received", received, None)
    n = t.shape[0]
    if n == 0:
        raise UsageError("received: expected at least one unit, got an empty array")
    if t.dtype.kind not in "iu":
        raise UsageError(f"received: expected integer arm indices (0 = control), got dtype "
                         f"{t.dtype}")
    out = t < 0 if n_arms is None else (t < 0) | (t >= n_arms)
    bad_t = np.flatnonzero(out)
    if bad_t.size:
        where = ">= 0" if n_arms is None else f"0..{n_arms - 1} (columns of the predictions)"
        i = int(bad_t[0])
        raise UsageError(f"received: expected arm indices {where}, found {t[i]} at unit {i}")
    y = _finite("outcome", _vector("outcome", outcome, n))
    c = _finite("cost", _vector("cost", cost, n))
    if propensity is None:
        p = np.bincount(t)[t] / n  # each arm's share of the sample (papers.md §0.1)
    else:
        p = _finite("propensity", _vector("propensity", propensity, n))
        bad_p = np.flatnonzero((p <= 0) | (p > 1))
        if bad_p.size:
            raise UsageError(f"propensity: expected values in (0, 1], found {p[bad_p[0]]!r} at "
                             f"unit {bad_p[0]}")
    return RctArrays(received=t.astype(np.int64), outcome=y, cost=c, propensity=p)


def _check_options(form: str, n_boot: int, level: float) -> None:
    if form not in FORMS:
        raise UsageError(f"form: expected one of {list(FORMS)}, got {form!r}")
    if not isinstance(n_boot, int) or isinstance(n_boot, bool) or n_boot < 0:
        raise UsageError(f"n_boot: expected a non-negative integer, got {n_boot!r}")
    if not 0 < level < 1:
        raise UsageError(f"level: expected 0 < level < 1, got {level!r}")


def _budgets(budgets: ArrayLike | float) -> np.ndarray:
    b = np.atleast_1d(np.asarray(budgets, dtype=np.float64))
    if b.ndim != 1 or b.size == 0:
        raise UsageError(f"budgets_per_capita: expected a 1-D list of budgets, got shape "
                         f"{b.shape}")
    bad = np.flatnonzero(~np.isfinite(b))
    if bad.size:
        raise UsageError(f"budgets_per_capita: expected finite numbers, found {b[bad[0]]!r} at "
                         f"position {bad[0]}")
    return b


def _ratio(num: np.ndarray, den: np.ndarray | float, form: str, n: int) -> np.ndarray:
    """IPW divides by N, the self-normalised form by the matched weight sum (NaN where 0)."""
    if form == "ipw":
        return np.asarray(num / n)
    d = np.asarray(den, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(d > 0, num / np.where(d > 0, d, 1.0), np.nan))


def eom_curve(
    received: ArrayLike,
    outcome: ArrayLike,
    cost: ArrayLike,
    value_pred: np.ndarray,
    cost_pred: np.ndarray,
    budgets_per_capita: ArrayLike | float,
    *,
    propensity: ArrayLike | None = None,
    form: Form = "ipw",
    n_boot: int = 0,
    level: float = 0.95,
    seed: int = 0,
    path: LambdaPath | None = None,
) -> EomCurve:
    """EOM of the predictions' Lagrangian policy at each per-capita budget (matched IPW spend).

    Parameters
    ----------
    received:
        (N,) arm index each unit was randomised to, 0 = control, columns of the predictions.
    outcome, cost:
        (N,) observed outcome (the value maximised) and realised cost.
    value_pred, cost_pred:
        (N, M) predicted outcome and cost of every arm.
    budgets_per_capita:
        (K,) per-capita budgets, incremental over the all-control policy.
    propensity:
        (N,) P(received arm); default each arm's share of the sample (an RCT).
    form:
        "ipw" (unbiased for a fixed policy) or "snipw" (self-normalised, Hajek).
    n_boot, level, seed:
        percentile bootstrap over units with every budget's policy held fixed; 0 = none.
    path:
        the :func:`~evaluation.lambda_path.lambda_path` of the predictions, when already built.

    The cost is one sort of the hull increments plus O(events) work, whatever the number of
    budgets; the bootstrap costs O(n_boot * N * K).
    """
    _check_options(form, n_boot, level)
    vp, cp = check_predictions(value_pred, cost_pred)
    d = rct_arrays(received, outcome, cost, propensity, n_arms=vp.shape[1])
    if vp.shape[0] != d.n:
        raise UsageError(f"value_pred/cost_pred: expected {d.n} rows (one per unit, like "
                         f"'received'), got {vp.shape[0]}")
    b = _budgets(budgets_per_capita)
    if path is None:
        path = path_of_checked(vp, cp)
    elif path.n_units != d.n or path.n_options != vp.shape[1]:
        raise UsageError(f"path: built for ({path.n_units}, {path.n_options}) predictions, "
                         f"expected {vp.shape}")
    n = d.n
    ip = 1.0 / d.propensity
    base = np.stack([d.outcome * ip, d.cost * ip, ip, np.ones(n)], axis=1)
    steps = path.received_step_values(d.received, base)  # (S+1, 4)
    ctrl = base[d.received == 0].sum(axis=0)
    v0 = float(_ratio(ctrl[0], ctrl[2], form, n))
    s0 = float(_ratio(ctrl[1], ctrl[2], form, n))
    value_steps = _ratio(steps[:, 0], steps[:, 2], form, n)
    spend_steps = _ratio(steps[:, 1], steps[:, 2], form, n) - s0
    match = lambda_for_budget(path, spend_steps, b)
    value = value_steps[match.step]
    chosen = path.chosen_steps(match.step)
    vci = uci = sci = None
    if n_boot:
        mask = np.concatenate([chosen == d.received[None, :], (d.received == 0)[None, :]])
        reps = bootstrap_sums(mask, base[:, :3], n_boot=n_boot, seed=seed)  # (R, K+1, 3)
        rv = _ratio(reps[:, :, 0], reps[:, :, 2], form, n)
        rs = _ratio(reps[:, :, 1], reps[:, :, 2], form, n)
        vci = percentile_interval(rv[:, :-1], level)
        uci = percentile_interval(rv[:, :-1] - rv[:, -1:], level)
        sci = percentile_interval(rs[:, :-1] - rs[:, -1:], level)
    return EomCurve(
        budgets=b, lam=match.lam, value=value, uplift=value - v0, spend=match.spend,
        fits=match.fits, matched=steps[match.step, 3].round().astype(np.int64), chosen=chosen,
        control_value=v0, control_spend=s0, n=n, form=form, value_ci=vci, uplift_ci=uci,
        spend_ci=sci, level=level, n_boot=n_boot, seed=seed,
    )


@dataclass(frozen=True)
class PairedDifference:
    """Per budget: value of curve A minus curve B, with a paired bootstrap interval.

    ``share_below_zero`` is the share of replicates in which A - B < 0 (a one-sided bootstrap
    p-value for "A is better"); NaN without bootstrap.
    """

    budgets: np.ndarray
    difference: np.ndarray
    ci: np.ndarray | None
    share_below_zero: np.ndarray
    form: str
    n_boot: int
    level: float

    def to_frame(self) -> pd.DataFrame:
        cols: dict[str, np.ndarray] = {"budget": self.budgets, "difference": self.difference}
        if self.ci is not None:
            cols["lo"], cols["hi"] = self.ci[:, 0], self.ci[:, 1]
        cols["share_below_zero"] = self.share_below_zero
        return pd.DataFrame(cols)


def paired_difference(
    curve_a: EomCurve,
    curve_b: EomCurve,
    received: ArrayLike,
    outcome: ArrayLike,
    cost: ArrayLike,
    *,
    propensity: ArrayLike | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> PairedDifference:
    """V_A(B) - V_B(B) per budget with a PAIRED percentile bootstrap over units.

    Both curves must come from the same data (the arrays given here), the same budgets and the
    same estimator. Each replicate resamples units once and re-estimates both policies (held
    fixed) on that resample, so the noise the two share cancels; the difference of uplifts is
    the same number (the all-control value is common). A curve against itself gives exactly 0
    in every replicate.
    """
    _check_options(curve_a.form, n_boot, level)
    if curve_a.n != curve_b.n:
        raise UsageError(f"curve_b: expected curves on the same units, got {curve_a.n} and "
                         f"{curve_b.n} units")
    if curve_a.form != curve_b.form:
        raise UsageError(f"curve_b: expected the estimator of curve_a ({curve_a.form!r}), got "
                         f"{curve_b.form!r}")
    if not np.array_equal(curve_a.budgets, curve_b.budgets):
        raise UsageError(f"curve_b: expected the budgets of curve_a {curve_a.budgets.tolist()}, "
                         f"got {curve_b.budgets.tolist()}")
    d = rct_arrays(received, outcome, cost, propensity)
    if d.n != curve_a.n:
        raise UsageError(f"received: expected {curve_a.n} units (the curves'), got {d.n}")
    form = curve_a.form
    ip = 1.0 / d.propensity
    base = np.stack([d.outcome * ip, ip], axis=1)
    wa = (curve_a.chosen == d.received).astype(np.float64)
    # B's sums are A's minus the sums over the units where the two differ (weight +-1), so
    # where the policies agree the difference is exactly 0, not 0 up to summation order
    mask = np.concatenate([wa, wa - (curve_b.chosen == d.received)])
    k = curve_a.budgets.size

    def difference(sums: np.ndarray) -> np.ndarray:
        a, delta = sums[..., :k, :], sums[..., k:, :]
        if form == "ipw":
            return np.asarray(delta[..., 0] / d.n)
        b = a - delta
        return _ratio(a[..., 0], a[..., 1], form, d.n) - _ratio(b[..., 0], b[..., 1], form, d.n)

    diff = difference(mask @ base)
    ci = None
    below = np.full(k, np.nan)
    if n_boot:
        rd = difference(bootstrap_sums(mask, base, n_boot=n_boot, seed=seed))
        ci = percentile_interval(rd, level)
        below = np.mean(rd < 0, axis=0)
    return PairedDifference(budgets=curve_a.budgets, difference=diff, ci=ci,
                            share_below_zero=below, form=form, n_boot=n_boot, level=level)


@dataclass(frozen=True)
class NormalisedCurve:
    """EOM of a curve divided by a baseline's at each budget (the papers set TSM-SL = 1)."""

    budgets: np.ndarray
    value: np.ndarray
    uplift: np.ndarray


def normalised(curve: EomCurve | TrueCurve, baseline: EomCurve | TrueCurve) -> NormalisedCurve:
    """value / baseline value and uplift / baseline uplift per budget (papers.md §0.5).

    The budgets must be the same. A baseline value or uplift of 0 gives inf or NaN there.
    """
    if not np.array_equal(curve.budgets, baseline.budgets):
        raise UsageError(f"baseline: expected the budgets of the curve {curve.budgets.tolist()}, "
                         f"got {baseline.budgets.tolist()}")
    with np.errstate(divide="ignore", invalid="ignore"):
        return NormalisedCurve(budgets=curve.budgets, value=curve.value / baseline.value,
                               uplift=curve.uplift / baseline.uplift)


def max_spend_per_capita(
    received: ArrayLike, cost: ArrayLike, propensity: ArrayLike | None = None,
) -> float:
    """The largest IPW incremental per-capita spend of an all-one-arm policy (0 at least).

    max_j [(1/N) Σ_{t_i = j} c_i / p_i - (1/N) Σ_{t_i = 0} c_i / p_i]: the spend of giving
    everyone the arm that costs most, the top of a default budget grid.
    """
    t = _vector("received", received, None)
    d = rct_arrays(t, np.zeros(t.shape[0]), cost, propensity)
    per_arm = np.bincount(d.received, weights=d.cost / d.propensity) / d.n
    return float(max(0.0, float(np.max(per_arm - per_arm[0]))))


def budget_grid(max_spend: float, n: int = 10) -> np.ndarray:
    """(n,) budgets at 1/n, 2/n, ..., 100% of ``max_spend`` (10%..100% by default)."""
    if not isinstance(n, int) or n < 1:
        raise UsageError(f"n: expected a positive number of budgets, got {n!r}")
    if not np.isfinite(max_spend) or max_spend < 0:
        raise UsageError(f"max_spend: expected a finite number >= 0, got {max_spend!r}")
    return np.asarray(max_spend * np.arange(1, n + 1) / n, dtype=np.float64)


# -- the simulator side: true expected value and cost ------------------------------------------


@dataclass(frozen=True, eq=False)
class TrueCurve:
    """True per-capita value, uplift and incremental spend of each budget's policy.

    The policy at each budget is matched on TRUE incremental spend (see the module docstring).
    """

    budgets: np.ndarray
    lam: np.ndarray
    value: np.ndarray
    uplift: np.ndarray
    spend: np.ndarray
    fits: np.ndarray
    chosen: np.ndarray
    control_value: float
    n: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"budget": self.budgets, "lam": self.lam, "value": self.value,
                             "uplift": self.uplift, "spend": self.spend, "fits": self.fits})


@dataclass(frozen=True)
class TrueValue:
    """A fixed allocation's true per-capita value, uplift over all-control, incremental spend."""

    value: float
    uplift: float
    spend: float


def check_truth(name: str, a: object, shape: tuple[int, ...]) -> np.ndarray:
    """A finite (N, M) array of true expected values or costs, or a UsageError naming it."""
    x = np.asarray(a, dtype=np.float64)
    if x.shape != shape:
        raise UsageError(f"{name}: expected shape {shape} (units x arms), got {x.shape}")
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        raise UsageError(f"{name}: expected finite numbers, found {x[i, j]!r} at unit {i}, "
                         f"arm {j}")
    return x


def true_value_at_budget(
    value_pred: np.ndarray,
    cost_pred: np.ndarray,
    true_value: np.ndarray,
    true_cost: np.ndarray,
    budgets: ArrayLike | float,
    *,
    path: LambdaPath | None = None,
) -> TrueCurve:
    """Matched TRUE incremental spend: per budget λ*, true value, uplift and spend.

    The statistic along the predictions' λ path is f = true_cost - true_cost[:, 0] (spend) and
    true_value (value), both per capita; the budget rule is the one of
    :func:`~evaluation.lambda_path.lambda_for_budget`.
    """
    vp, cp = check_predictions(value_pred, cost_pred)
    tv = check_truth("true_value", true_value, vp.shape)
    tc = check_truth("true_cost", true_cost, vp.shape)
    b = _budgets(budgets)
    if path is None:
        path = path_of_checked(vp, cp)
    n = vp.shape[0]
    spend_steps = path.step_values(tc - tc[:, :1]) / n
    value_steps = path.step_values(tv) / n
    match = lambda_for_budget(path, spend_steps, b)
    v0 = float(tv[:, 0].mean())
    value = value_steps[match.step]
    return TrueCurve(budgets=b, lam=match.lam, value=value, uplift=value - v0,
                     spend=match.spend, fits=match.fits, chosen=path.chosen_steps(match.step),
                     control_value=v0, n=n)


def true_policy_value(
    chosen: ArrayLike, true_value: np.ndarray, true_cost: np.ndarray,
) -> TrueValue:
    """True per-capita value, uplift and incremental spend of a fixed allocation ``chosen``."""
    tv = np.asarray(true_value, dtype=np.float64)
    if tv.ndim != 2:
        raise UsageError(f"true_value: expected shape (N, M), got {tv.shape}")
    tv = check_truth("true_value", tv, tv.shape)
    tc = check_truth("true_cost", true_cost, tv.shape)
    ch = _vector("chosen", chosen, tv.shape[0])
    if ch.dtype.kind not in "iu" or ch.min() < 0 or ch.max() >= tv.shape[1]:
        raise UsageError(f"chosen: expected arm indices 0..{tv.shape[1] - 1}")
    rows = np.arange(tv.shape[0])
    value = float(tv[rows, ch].mean())
    return TrueValue(value=value, uplift=value - float(tv[:, 0].mean()),
                     spend=float((tc[rows, ch] - tc[:, 0]).mean()))
