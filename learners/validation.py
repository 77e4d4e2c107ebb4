"""Model selection on validation data: the mean EOM over a grid of per-capita budgets.

Early stopping (and, in the benchmarks, the choice of hyperparameters) uses the quantity the
model is for: the per-capita value its Lagrangian policy reaches at matched spend (EOM,
papers.md §0.5), averaged over budgets (by default 10 budgets from 10% to 100% of the largest
arm's mean incremental cost on the validation data). Observational validation data cannot be
scored that way (policy value by IPW needs randomisation): there the score is minus the
validation prediction loss, and the training log says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formulations.errors import UsageError
from formulations.experiment_data import ExperimentData


@dataclass(frozen=True, eq=False)
class Validation:
    data: ExperimentData
    budgets: np.ndarray
    """per-capita incremental budgets of the EOM score (empty: score by prediction loss)"""
    received: np.ndarray
    """(N,) each unit's received arm as a column of the model's predictions"""

    @property
    def by_eom(self) -> bool:
        return self.budgets.size > 0


def max_spend_per_capita(data: ExperimentData) -> float:
    """The largest arm-mean incremental cost (IPW with the data's propensity)."""
    from evaluation.eom_curve import max_spend_per_capita as max_spend

    return max_spend(data.arm, data.cost, data.design_propensity("EOM"))


def default_budgets(data: ExperimentData, count: int = 10) -> np.ndarray:
    top = max_spend_per_capita(data)
    if not top > 0:
        raise UsageError(f"{data.source}: no arm costs more than the control on average, so no "
                         "budget grid can be derived; give the budgets explicitly")
    return np.linspace(0.1, 1.0, count) * top


def make_validation(
    data: ExperimentData, budgets: np.ndarray | None = None, *,
    model_arms: tuple[str, ...] | None = None,
) -> Validation:
    """The validation scorer of ``data`` for a model over ``model_arms`` (default data's)."""
    from learners.provider import arm_columns

    arms = data.arms if model_arms is None else model_arms
    cols = arm_columns(arms, data)
    if data.kind != "rct":
        return Validation(data, np.zeros(0), cols[data.arm])
    missing = sorted(set(arms) - set(data.arms))
    if missing:
        raise UsageError(f"{data.source}: the validation data never randomised arm "
                         f"{missing[0]!r}, which the model can choose; EOM needs every arm")
    b = default_budgets(data) if budgets is None else np.asarray(budgets, dtype=np.float64)
    if b.ndim != 1 or b.size == 0 or np.any(b < 0) or not np.all(np.isfinite(b)):
        raise UsageError(f"validation budgets: expected non-negative per-capita budgets, got {b}")
    return Validation(data, b, cols[data.arm])


def eom_score(value: np.ndarray, cost: np.ndarray, validation: Validation) -> float:
    """Mean per-capita EOM value over the validation budgets (IPW, matched incremental spend)."""
    from evaluation.eom_curve import eom_curve

    d = validation.data
    curve = eom_curve(validation.received, d.outcome, d.cost, value, cost, validation.budgets,
                      propensity=d.design_propensity("EOM"))
    return float(np.mean(curve.value))


HOLDOUT_FRACTION = 0.2


def holdout_split(
    data: ExperimentData, *, fraction: float = HOLDOUT_FRACTION, seed: int = 0
) -> tuple[ExperimentData, ExperimentData]:
    """(train, validation) when no validation data is given: ``fraction`` of the units of every
    arm, drawn with ``seed``, are held out (stratified by arm, so a rare arm is in both)."""
    if not 0 < fraction < 1:
        raise UsageError(f"fraction: expected 0 < fraction < 1, got {fraction!r}")
    rng = np.random.default_rng([seed, 20_240_601])
    held = np.zeros(data.n_units, dtype=bool)
    for j in range(data.n_arms):
        rows = np.flatnonzero(data.arm == j)
        k = round(fraction * rows.size)
        if rows.size >= 2:
            held[rng.choice(rows, size=min(max(k, 1), rows.size - 1), replace=False)] = True
    if held.all() or not held.any():
        raise UsageError(f"{data.source}: too few units ({data.n_units}) to hold out a "
                         "validation split; give --validation")
    return data.subset(~held), data.subset(held)
