"""Parameter providers: anything that predicts every (unit, arm) outcome and cost.

ARCHITECTURE.md, "Learners". A provider predicts per-arm **outcomes** r̂_ij and **costs** ĉ_ij
(papers.md §0.1) for the arms it was trained on, control first. The engine then decides: an
allocation instance is written in **incremental** terms over the control arm,

    value_ij = r̂_ij - r̂_i0,     cost_ij = ĉ_ij - ĉ_i0      (so the control row is 0 / 0),

which leaves every allocation unchanged (a constant per unit is added to every option) and makes
the budget the extra spend the campaign pays. A per-capita budget B means B x N of incremental
cost for N units. ``policy`` is the engine's Lagrangian allocation of that instance (the ``dual``
solver: an allocation within the budget, with its certificate).

Every method (TSM-SL, T-learner, the scikit-learn adapter, and the decision-focused learners
built on them) implements :class:`ParameterProvider`; :class:`ProviderBase` gives
``to_instance`` and ``policy`` from ``predict``.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from typing import Protocol, runtime_checkable

import numpy as np

from formulations.errors import InstanceError, UsageError
from formulations.experiment_data import ExperimentData, FeatureTable
from formulations.instance import Columns, Instance, from_dense

Data = ExperimentData | FeatureTable
BUDGET = "cost"
"""The name (and column) of the one budget row of a provider's instance."""


@runtime_checkable
class ParameterProvider(Protocol):
    """predict / to_instance / policy over the arms the provider was trained on."""

    @property
    def method(self) -> str: ...

    @property
    def arms(self) -> tuple[str, ...]: ...

    def predict(self, data: Data) -> tuple[np.ndarray, np.ndarray]:
        """(outcome[N, M], cost[N, M]) float64 per arm, in the order of ``arms``."""
        ...

    def to_instance(
        self, data: Data, budget: float, *, per_capita: bool = False, name: str | None = None
    ) -> Instance: ...

    def policy(self, data: Data, budget: float, *, per_capita: bool = False) -> np.ndarray:
        """(N,) the arm index the engine's Lagrangian allocation gives each unit."""
        ...


class BudgetWarning(UserWarning):
    """The budget is at least the spend of giving every unit its most valuable arm."""


def total_budget(budget: float, n_units: int, *, per_capita: bool) -> float:
    """The instance's limit: ``budget`` itself, or ``budget * n_units`` per capita."""
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not np.isfinite(budget):
        raise UsageError(f"budget: expected a finite number, got {budget!r}")
    if budget < 0:
        raise UsageError(
            f"budget: expected >= 0 (an incremental spend over all-control, which costs 0), "
            f"got {budget!r}")
    return float(budget) * n_units if per_capita else float(budget)


def incremental(value: np.ndarray, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-arm predictions minus the control arm's (column 0)."""
    return value - value[:, :1], cost - cost[:, :1]


def check_budget(inc_value: np.ndarray, inc_cost: np.ndarray, limit: float) -> None:
    """Warn when the limit buys every unit its most valuable arm (the budget does not bind)."""
    rows = np.arange(inc_value.shape[0])
    top = inc_cost[rows, np.argmax(inc_value, axis=1)].sum()
    if limit >= top:
        warnings.warn(
            f"budget {limit:.6g} is at least the predicted spend of giving every unit its most "
            f"valuable arm ({top:.6g}): the budget does not bind", BudgetWarning, stacklevel=3)


def predictions_instance(
    value: np.ndarray,
    cost: np.ndarray,
    limit: float,
    *,
    arms: tuple[str, ...],
    unit_ids: np.ndarray,
    name: str,
    unit_column: str = "unit",
) -> Instance:
    """The v1 instance of per-arm predictions in incremental terms, one budget ``limit``."""
    inc_v, inc_c = incremental(value, cost)
    inst = from_dense(inc_v, inc_c, [limit], name=name, budget_names=[BUDGET],
                      option_labels=arms, unit_ids=unit_ids)
    return inst.replace(columns=Columns(unit=unit_column, option="arm", value="value"),
                        description=f"incremental predictions over {arms[0]!r}")


def lagrangian_policy(instance: Instance) -> np.ndarray:
    """The engine's ``dual`` allocation of a provider's instance (arm index per unit)."""
    from engine.solve import solve

    result = solve(instance, "dual")
    if result.assignment is None:
        raise UsageError(f"{instance.name}: the dual found no allocation ({result.status}: "
                         f"{result.message})")
    return np.asarray(result.assignment, dtype=np.int64)


def arm_columns(arms: tuple[str, ...], data: ExperimentData) -> np.ndarray:
    """(M_data,) the model's column of each of ``data``'s arms; refuses an arm the model never
    saw and a different control."""
    unknown = [a for a in data.arms if a not in arms]
    if unknown:
        raise InstanceError(
            data.source, "treatment",
            f"arm {unknown[0]!r} was not seen in training; the model knows {list(arms)}")
    if data.arms[0] != arms[0]:
        raise InstanceError(
            data.source, "control",
            f"control {data.arms[0]!r} differs from the model's control {arms[0]!r}")
    return np.array([arms.index(a) for a in data.arms], dtype=np.int64)


def unit_ids(data: Data) -> np.ndarray:
    return data.units if isinstance(data, ExperimentData) else data.unit_ids


class ProviderBase(ABC):
    """``to_instance`` and ``policy`` from ``predict``; subclasses set ``method`` and ``arms``
    and implement ``predict`` (a subclass without it cannot be instantiated)."""

    method: str
    arms: tuple[str, ...]

    @abstractmethod
    def predict(self, data: Data) -> tuple[np.ndarray, np.ndarray]:
        """(N, M) predicted outcome and cost of every (unit, arm)."""

    def arm_index(self, data: ExperimentData) -> np.ndarray:
        return arm_columns(self.arms, data)

    def to_instance(
        self, data: Data, budget: float, *, per_capita: bool = False, name: str | None = None
    ) -> Instance:
        limit = total_budget(budget, data.n_units, per_capita=per_capita)
        value, cost = self.predict(data)
        inst = predictions_instance(value, cost, limit, arms=self.arms, unit_ids=unit_ids(data),
                                    name=name or f"{self.method}_{data.name}")
        check_budget(*incremental(value, cost), limit)
        return inst

    def policy(self, data: Data, budget: float, *, per_capita: bool = False) -> np.ndarray:
        return lagrangian_policy(self.to_instance(data, budget, per_capita=per_capita))
