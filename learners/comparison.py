"""Compare fitted models on randomised data: what ``treatalloc evaluate`` reports.

For every model and per-capita budget: the EOM (papers.md §0.5) of the model's Lagrangian policy
at matched incremental IPW spend, with a percentile bootstrap interval; its uplift over
all-control; the ratio to the first model's EOM (the papers normalise their baseline to 1); the
paired bootstrap difference to the first model (the same resampled units for both, so the
interval is of the difference itself); AUCC and the Qini / uplift curves for a binary
treatment; the prediction errors per arm. With the simulator's truth, beside the estimates:
the true uplift of the same policy, the matched TRUE spend protocol (the policy whose true
spend meets the budget) against the oracle
(the same protocol on the true value and cost), and the deployment protocol (the engine's
``dual`` at the nominal budget from predicted costs) with its true spend, so over- and
under-spending shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from formulations.errors import UsageError
from formulations.experiment_data import ExperimentData


@dataclass(frozen=True, eq=False)
class Comparison:
    data: ExperimentData
    budgets: np.ndarray
    table: pd.DataFrame
    """one row per (budget, model); columns documented in docs/learners.md"""
    curves: Mapping[str, Any]
    metrics: Mapping[str, pd.DataFrame]
    aucc: Mapping[str, Any] = field(default_factory=dict)
    qini: Mapping[str, Any] = field(default_factory=dict)
    """binary treatment: (Qini curve, uplift curve) of each model's uplift ranking"""
    true_curves: Mapping[str, Any] = field(default_factory=dict)
    form: str = "ipw"
    n_boot: int = 0
    level: float = 0.95


def predictions_in_data_order(
    provider: Any, data: ExperimentData
) -> tuple[np.ndarray, np.ndarray]:
    """The provider's (value, cost) with columns in ``data``'s arm order; the data must have
    randomised every arm the model can choose (else a policy's value is not identified)."""
    from learners.provider import arm_columns

    cols = arm_columns(tuple(provider.arms), data)
    if len(cols) != len(provider.arms):
        missing = sorted(set(provider.arms) - set(data.arms))
        raise UsageError(f"{data.source}: the data never randomised arm {missing[0]!r}, which "
                         "the model can choose; EOM needs every arm")
    value, cost = provider.predict(data)
    return value[:, cols], cost[:, cols]


def compare(
    data: ExperimentData,
    providers: Mapping[str, Any],
    budgets: np.ndarray | None = None,
    *,
    form: str = "ipw",
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    truth: Any = None,
) -> Comparison:
    """EOM curves, paired differences to the first model, AUCC, prediction metrics (and the
    truth-based figures where ``truth`` is given: a learners.simulate.Truth of ``data``)."""
    from evaluation.eom_curve import true_policy_value, true_value_at_budget
    from evaluation.experiment import (
        aucc_on,
        default_budgets,
        eom_curve_on,
        paired_difference_on,
        prediction_metrics_on,
        require_randomised,
        uplift_curves_on,
    )

    if not providers:
        raise UsageError("--model: expected at least one model")
    require_randomised(data, "evaluate")
    b = default_budgets(data) if budgets is None else np.asarray(budgets, dtype=np.float64)
    names = list(providers)
    preds = {n: predictions_in_data_order(p, data) for n, p in providers.items()}
    curves = {n: eom_curve_on(data, *preds[n], b, form=form,  # type: ignore[arg-type]
                              n_boot=n_boot, level=level, seed=seed) for n in names}
    first = names[0]
    frames = []
    tv = tc = None
    oracle = None
    if truth is not None:
        tv, tc = np.asarray(truth.value), np.asarray(truth.cost)
        oracle = true_value_at_budget(tv, tc, tv, tc, b)
    true_curves: dict[str, Any] = {}
    for n in names:
        c = curves[n]
        f = c.to_frame()
        f.insert(1, "model", n)
        f.insert(2, "method", providers[n].method)
        with np.errstate(divide="ignore", invalid="ignore"):
            f["normalised"] = c.value / curves[first].value
        if n != first and n_boot:
            d = paired_difference_on(data, c, curves[first], n_boot=n_boot, level=level,
                                     seed=seed)
            f["diff"] = d.difference
            assert d.ci is not None
            f["diff_lo"], f["diff_hi"] = d.ci[:, 0], d.ci[:, 1]
            f["share_below_zero"] = d.share_below_zero
        elif n != first:
            f["diff"] = c.value - curves[first].value
        if tv is not None and tc is not None and oracle is not None:
            same = [true_policy_value(ch, tv, tc) for ch in c.chosen]
            f["true_uplift"] = [t.uplift for t in same]
            f["true_spend"] = [t.spend for t in same]
            vp, cp = preds[n]
            matched = true_value_at_budget(vp, cp, tv, tc, b)
            true_curves[n] = matched
            f["matched_true_uplift"] = matched.uplift
            f["matched_fits"] = matched.fits
            f["oracle_uplift"] = oracle.uplift
            f["capture"] = capture(matched, oracle)
            deploy = [true_policy_value(_deploy(providers[n], data, float(x)), tv, tc)
                      for x in b]
            f["deploy_true_uplift"] = [t.uplift for t in deploy]
            f["deploy_true_spend"] = [t.spend for t in deploy]
        frames.append(f)
    table = pd.concat(frames, ignore_index=True).sort_values(["budget", "model"], kind="stable",
                                                              key=_model_order(names))
    aucc: dict[str, Any] = {}
    qini: dict[str, Any] = {}
    if data.n_arms == 2:
        aucc = {n: aucc_on(data, *preds[n]) for n in names}
        qini = {n: uplift_curves_on(data, preds[n][0]) for n in names}
    metrics = {n: prediction_metrics_on(data, *preds[n], true_value=tv, true_cost=tc)
               for n in names}
    if oracle is not None:
        true_curves = {"oracle": oracle, **true_curves}
    return Comparison(data=data, budgets=b, table=table.reset_index(drop=True), curves=curves,
                      metrics=metrics, aucc=aucc, qini=qini, true_curves=true_curves, form=form,
                      n_boot=n_boot, level=level)


def capture(matched: Any, oracle: Any) -> np.ndarray:
    """Model uplift / oracle uplift at matched true spend, per budget. Where no policy on the
    model's λ path fits the budget (even its cheapest-by-prediction policy overspends in truth)
    the model has no policy to deploy there: it counts as all-control, capture 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(matched.fits, matched.uplift, 0.0) / oracle.uplift)


def _deploy(provider: Any, data: ExperimentData, budget: float) -> np.ndarray:
    """The engine's allocation at the nominal per-capita budget, as data arm codes."""
    import warnings

    from learners.provider import BudgetWarning, arm_columns

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BudgetWarning)
        chosen = provider.policy(data, budget, per_capita=True)
    cols = arm_columns(tuple(provider.arms), data)
    to_data = np.empty(len(provider.arms), dtype=np.int64)
    to_data[cols] = np.arange(len(cols))
    return np.asarray(to_data[chosen])


def _model_order(names: list[str]) -> Any:
    rank = {n: i for i, n in enumerate(names)}

    def key(s: pd.Series) -> pd.Series:
        return s.map(rank) if s.name == "model" else s

    return key
