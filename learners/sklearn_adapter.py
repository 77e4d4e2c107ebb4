"""Any scikit-learn regressor as a parameter provider, so users keep their gradient boosting.

Two forms:

* ``per-arm`` (default): one model per arm and target, fit on that arm's rows (a T-learner of
  the user's estimator);
* ``arm-feature``: one model per target with the arm one-hot encoded as extra features (an
  S-learner), fit with the unbiased RCT weights 1 / (M p_t) of papers.md §4.2 where the estimator
  accepts ``sample_weight``.

The estimator is named ``module:Class`` (default
``sklearn.ensemble:HistGradientBoostingRegressor``) with keyword parameters; ``random_state`` is
set to the seed where the estimator has one. Features are encoded by the model's
:class:`learners.features.FeatureSchema` (standardised numbers, one-hot categories). There is no
early stopping on validation EOM here: the estimator has its own regularisation; the validation
EOM is reported after fitting. Known costs (a ``[costs]`` table, or an arm whose every training
row costs the same) are not learned (learners/two_stage.py, ``fixed_arm_costs``).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from formulations.errors import UsageError
from formulations.experiment_data import ExperimentData
from learners.features import FeatureSchema
from learners.known_costs import apply_fixed
from learners.provider import Data, ProviderBase

DEFAULT_ESTIMATOR = "sklearn.ensemble:HistGradientBoostingRegressor"
MODES = ("per-arm", "arm-feature")


@dataclass(eq=False)
class SklearnProvider(ProviderBase):
    method: str
    arms: tuple[str, ...]
    schema: FeatureSchema
    estimator: str
    mode: str
    value_models: list[Any]
    cost_models: list[Any] | None
    fixed_costs: np.ndarray | None = None
    params: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return {"estimator": self.estimator, "mode": self.mode, "params": dict(self.params)}

    def _design(self, x: np.ndarray, arm: int) -> np.ndarray:
        if self.mode == "per-arm":
            return x
        onehot = np.zeros((x.shape[0], len(self.arms)), dtype=x.dtype)
        onehot[:, arm] = 1.0
        return np.hstack([x, onehot])

    def _predict(self, models: list[Any], x: np.ndarray) -> np.ndarray:
        m = len(self.arms)
        if self.mode == "per-arm":
            cols = [np.asarray(models[j].predict(x), dtype=np.float64) for j in range(m)]
        else:
            cols = [np.asarray(models[0].predict(self._design(x, j)), dtype=np.float64)
                    for j in range(m)]
        return np.column_stack(cols)

    def predict(self, data: Data) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(data, ExperimentData):
            self.arm_index(data)
        x = self.schema.encode(data).astype(np.float64)
        value = self._predict(self.value_models, x)
        if self.cost_models is None:
            assert self.fixed_costs is not None
            cost = np.broadcast_to(self.fixed_costs, value.shape).copy()
        else:
            cost = apply_fixed(self._predict(self.cost_models, x), self.fixed_costs)
        return value, cost


def estimator_class(spec: str) -> type:
    """The class named ``module:Class``; a clear error when it cannot be imported."""
    module_name, sep, cls_name = spec.partition(":")
    if not sep or not module_name or not cls_name:
        raise UsageError(f"--estimator: expected MODULE:CLASS (e.g. {DEFAULT_ESTIMATOR}), "
                         f"got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise UsageError(f"--estimator {spec!r}: cannot import module {module_name!r} ({e})") \
            from None
    cls = getattr(module, cls_name, None)
    if not isinstance(cls, type) or not hasattr(cls, "fit") or not hasattr(cls, "predict"):
        raise UsageError(f"--estimator {spec!r}: {cls_name!r} in {module_name!r} is not an "
                         "estimator class with fit and predict")
    return cls


def _make(cls: type, params: Mapping[str, Any], seed: int) -> Any:
    kw = dict(params)
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        sig = None
    if sig is not None and "random_state" in sig.parameters and "random_state" not in kw:
        kw["random_state"] = seed
    try:
        return cls(**kw)
    except TypeError as e:
        raise UsageError(f"estimator {cls.__name__}: bad parameters {sorted(kw)} ({e})") from None


def _accepts_weight(est: Any) -> bool:
    try:
        return "sample_weight" in inspect.signature(est.fit).parameters
    except (TypeError, ValueError):
        return False


def fit_sklearn(
    train: ExperimentData,
    *,
    estimator: str = DEFAULT_ESTIMATOR,
    params: Mapping[str, Any] | None = None,
    mode: str = "per-arm",
    seed: int = 0,
) -> SklearnProvider:
    """Fit the adapter on ``train`` (every arm needs at least 2 rows in ``per-arm`` mode)."""
    from learners.known_costs import all_fixed, fixed_arm_costs
    from learners.tensors import arm_share

    if mode not in MODES:
        raise UsageError(f"mode: expected one of {list(MODES)}, got {mode!r}")
    cls = estimator_class(estimator)
    schema = FeatureSchema.fit(train.features)
    x = schema.encode(train).astype(np.float64)
    fixed = fixed_arm_costs(train)
    m = train.n_arms
    counts = train.arm_counts
    targets = [("value", train.outcome)] + ([] if all_fixed(fixed) else [("cost", train.cost)])
    fitted: dict[str, list[Any]] = {}
    for name, y in targets:
        models = []
        if mode == "per-arm":
            for j in range(m):
                if counts[j] < 2:
                    raise UsageError(f"{train.source}: arm {train.arms[j]!r} has {counts[j]} "
                                     "rows; a per-arm model needs at least 2")
                rows = train.arm == j
                models.append(_make(cls, params or {}, seed).fit(x[rows], y[rows]))
        else:
            design = np.hstack([x, np.eye(m)[train.arm]])
            est = _make(cls, params or {}, seed)
            if _accepts_weight(est):
                w = 1.0 / (m * arm_share(train.arm, m)[train.arm])
                est.fit(design, y, sample_weight=w)
            else:
                est.fit(design, y)
            models.append(est)
        fitted[name] = models
    return SklearnProvider(
        method="sklearn", arms=train.arms, schema=schema, estimator=estimator, mode=mode,
        value_models=fitted["value"], cost_models=fitted.get("cost"), fixed_costs=fixed,
        params=dict(params or {}), seed=seed,
    )
