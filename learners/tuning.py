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


DUAL = ("dfcl-pl", "dfcl-mer", "dfcl-ifd")
PRIMAL = ("dfcl-ppl", "dfcl-pifd")
LAMBDA_SHARES = (1, 4, 7)
"""the λ set of the dual methods: TSM-SL's λ* at the 2nd, 5th and 8th of 10 budgets (20%, 50%
and 80% of the range)"""


def fit_methods(
    methods: Sequence[str], train: ExperimentData, validation: ExperimentData,
    budgets: np.ndarray, *, seed: int = 0, workdir: str,
    on_fit: Any = None,
) -> dict[str, Any]:
    """Tune every method in ``methods`` the way the benchmarks compare them.

    Returns ``{method: provider}``, where a primal method's entry is a list with one provider
    per budget (each trained for that budget). The decision-focused methods follow
    docs/learners.md: the dual ones fine-tune the tuned TSM-SL (saved in ``workdir``) with the
    λ set of :data:`LAMBDA_SHARES` (TSM-SL's λ* with the IPW spend on the TRAIN split); the
    primal ones are tuned at the middle budget and refitted with that configuration at every
    budget; dhcl trains from scratch. ``on_fit(method, provider_or_list, config, val_score)``
    is called after each method. A method the data does not allow (dhcl on arms of equal cost)
    is skipped: ``out["_skipped"]`` maps it to the reason.
    """
    import warnings
    from pathlib import Path

    from formulations.errors import UsageError
    from learners.decision_focused import DecisionSpec
    from learners.oracle import lambda_star
    from learners.saved import save_model

    out: dict[str, Any] = {"_skipped": {}}
    tsm, cfg, _ = tune("tsm-sl", train, validation, seed=seed)
    init = Path(workdir) / f"tsm_seed{seed}"
    save_model(tsm, init, force=True)
    if "tsm-sl" in methods:
        out["tsm-sl"] = tsm
        if on_fit:
            on_fit("tsm-sl", tsm, cfg, cfg["val_score"])
    vp, cp = tsm.predict(train)
    lams = tuple(float(lambda_star(vp, cp, float(budgets[k]), received=train.arm,
                                   cost=train.cost, propensity=train.propensity))
                 for k in LAMBDA_SHARES)
    for m in methods:
        if m == "tsm-sl":
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # budget warnings at the top budgets
            if m in PRIMAL:
                mid = DecisionSpec(budget=float(budgets[len(budgets) // 2 - 1]), init=str(init))
                _, cfg, _ = tune(m, train, validation, seed=seed, decision=mid)
                score_mid = cfg.pop("val_score")
                models = [fit_config(m, cfg, train, validation, seed,
                                     decision=DecisionSpec(budget=float(b), init=str(init)))
                          for b in budgets]
                out[m] = models
                if on_fit:
                    score = float(np.mean([p.training["best_score"] for p in models]))
                    on_fit(m, models, {**cfg, "tuned_at_score": score_mid}, score)
                continue
            if m in DUAL:
                spec: dict[str, Any] = {"decision": DecisionSpec(lambdas=lams, init=str(init))}
            elif m == "dhcl":
                spec = {"decision": DecisionSpec()}
            else:
                spec = {}
            try:
                p, cfg, _ = tune(m, train, validation, seed=seed, **spec)
            except UsageError as e:
                out["_skipped"][m] = str(e)
                continue
        out[m] = p
        if on_fit:
            on_fit(m, p, cfg, cfg["val_score"])
    out["_lambdas"] = lams
    return out
