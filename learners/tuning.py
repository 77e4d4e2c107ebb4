"""The tuning budget every method gets in the benchmarks: a small grid, chosen on validation.

Honest comparisons give every method, the baselines included, the same size of grid over the
same kind of knobs, selected on validation only (the test split is scored once, for the chosen
configuration). Epochs are chosen by early stopping (at most ``MAX_EPOCHS``, ``PATIENCE``).

* torch methods: learning rate in {1e-3, 3e-3} x batch size in {256, 1024} (4 configurations);
* the scikit-learn adapter (HistGradientBoosting per arm): learning_rate in {0.05, 0.1} x
  max_iter in {100, 300} (4 configurations; boosting rounds play the part of epochs).

The score of a configuration is its validation score (learners/validation.py: the mean EOM over
the validation budgets).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from formulations.experiment_data import ExperimentData

MAX_EPOCHS, PATIENCE = 200, 10
TORCH_GRID: tuple[dict[str, Any], ...] = tuple(
    {"lr": lr, "batch_size": b} for lr, b in itertools.product((1e-3, 3e-3), (256, 1024)))
SKLEARN_GRID: tuple[dict[str, Any], ...] = tuple(
    {"learning_rate": lr, "max_iter": it} for lr, it in itertools.product((0.05, 0.1), (100, 300)))


def grid_for(method: str) -> Sequence[Mapping[str, Any]]:
    return SKLEARN_GRID if method == "sklearn" else TORCH_GRID


def fit_config(method: str, config: Mapping[str, Any], train: ExperimentData,
               validation: ExperimentData, seed: int, **spec: Any) -> Any:
    """One configuration of ``method`` (extra FitSpec fields in ``spec``)."""
    from learners.methods import FitSpec, fit
    from learners.training import TrainingOptions

    if method == "sklearn":
        fs = FitSpec(method="sklearn", options=TrainingOptions(seed=seed), params=dict(config),
                     **spec)
    else:
        opts = TrainingOptions(epochs=MAX_EPOCHS, patience=PATIENCE, seed=seed, **config)
        fs = FitSpec(method=method, options=opts, **spec)
    return fit(train, fs, validation=validation)


def tune(
    method: str, train: ExperimentData, validation: ExperimentData, *, seed: int = 0,
    grid: Sequence[Mapping[str, Any]] | None = None, **spec: Any,
) -> tuple[Any, dict[str, Any], pd.DataFrame]:
    """Fit every configuration; return (best provider, its configuration, all scores)."""
    rows, best, best_cfg, best_score = [], None, {}, -np.inf
    for cfg in grid or grid_for(method):
        p = fit_config(method, cfg, train, validation, seed, **spec)
        score = float(p.training["best_score"])
        rows.append({**cfg, "val_score": score, "best_epoch": p.training.get("best_epoch")})
        if score > best_score:
            best, best_cfg, best_score = p, dict(cfg), score
    return best, {**best_cfg, "val_score": best_score}, pd.DataFrame(rows)
