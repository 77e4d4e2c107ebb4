"""The learning methods by name: what ``treatalloc fit --method NAME`` runs.

Every method returns a parameter provider (learners/provider.py) and a summary of its fit.
Without validation data every method holds out the same documented split of the training data
(learners/validation.py: 20% of every arm, drawn with the seed), so methods fitted on the same
data with the same seed see the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from formulations.errors import UsageError
from formulations.experiment_data import ExperimentData
from learners.decision_focused import DecisionSpec
from learners.training import TrainingOptions

TWO_STAGE: tuple[str, ...] = ("tsm-sl", "t-learner", "sklearn")
DECISION_FOCUSED: tuple[str, ...] = ("dhcl", "dfcl-pl", "dfcl-mer", "dfcl-ifd", "dfcl-ppl",
                                     "dfcl-pifd")
METHODS: tuple[str, ...] = TWO_STAGE + DECISION_FOCUSED


@dataclass(frozen=True)
class FitSpec:
    """Everything a fit needs besides the data."""

    method: str
    options: TrainingOptions = field(default_factory=TrainingOptions)
    hidden: Sequence[int] | None = None
    budgets: np.ndarray | None = None
    """per-capita validation budgets (default: 10 from 10% to 100% of the all-max spend)"""
    estimator: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    mode: str = "per-arm"
    decision: DecisionSpec | None = None
    """the decision-focused flags (pl_weight, tau, lambdas, budget, init); None for the
    two-stage methods"""


def fit(
    train: ExperimentData,
    spec: FitSpec,
    *,
    validation: ExperimentData | None = None,
    on_epoch: Callable[[Mapping[str, float]], None] | None = None,
) -> Any:
    """Fit ``spec.method`` on ``train`` and return the provider (``provider.training`` holds the
    summary: rows, best epoch, validation score, seconds)."""
    from learners.validation import holdout_split

    if spec.method not in METHODS:
        raise UsageError(f"--method: expected one of {list(METHODS)}, got {spec.method!r}")
    if spec.method != "sklearn" and (spec.estimator is not None or spec.params):
        raise UsageError("--estimator / --param: only for --method sklearn")
    if spec.method in TWO_STAGE and spec.decision is not None:
        raise UsageError(f"--pl-weight / --tau / --lambdas / --budget / --init: only for the "
                         f"decision-focused methods {list(DECISION_FOCUSED)}, not {spec.method}")
    if spec.method in DECISION_FOCUSED:
        from learners.decision_focused import check_decision_spec

        check_decision_spec(spec.method, spec.decision or DecisionSpec())
    if validation is None:
        train, validation = holdout_split(train, seed=spec.options.seed)
    if spec.method == "sklearn":
        return _fit_sklearn(train, validation, spec)
    if spec.method == "dhcl":
        from learners.dhcl import fit_dhcl

        d = spec.decision or DecisionSpec()
        if d.init is not None:
            raise UsageError("--init: dhcl has its own network (decision factors); it cannot "
                             "warm-start from a two-stage model")
        return fit_dhcl(train, validation=validation, options=spec.options,
                        pl_weight=d.pl_weight, hidden=spec.hidden, budgets=spec.budgets,
                        on_epoch=on_epoch)
    if spec.method in DECISION_FOCUSED:
        from learners.decision_focused import fit_decision_focused

        return fit_decision_focused(train, method=spec.method, validation=validation,
                                    options=spec.options, spec=spec.decision or DecisionSpec(),
                                    hidden=spec.hidden, budgets=spec.budgets, on_epoch=on_epoch)
    from learners.two_stage import fit_two_stage

    provider, _ = fit_two_stage(train, method=spec.method, validation=validation,
                                options=spec.options, hidden=spec.hidden, budgets=spec.budgets,
                                on_epoch=on_epoch)
    return provider


def _fit_sklearn(train: ExperimentData, validation: ExperimentData, spec: FitSpec) -> Any:
    import time

    from learners.sklearn_adapter import DEFAULT_ESTIMATOR, fit_sklearn
    from learners.two_stage import data_summary
    from learners.validation import eom_score, make_validation

    start = time.perf_counter()
    provider = fit_sklearn(train, estimator=spec.estimator or DEFAULT_ESTIMATOR,
                           params=spec.params, mode=spec.mode, seed=spec.options.seed)
    val = make_validation(validation, spec.budgets, model_arms=provider.arms)
    summary: dict[str, Any] = {**data_summary(train, validation),
                               "seconds": round(time.perf_counter() - start, 3)}
    if val.by_eom:
        summary.update(best_score=eom_score(*provider.predict(validation), val), score="eom")
    provider.training = summary
    return provider
