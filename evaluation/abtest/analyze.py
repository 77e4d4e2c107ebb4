"""Run the chosen estimators on one control-versus-variant comparison."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from evaluation.abtest.crossfit import crossfit_predict
from evaluation.abtest.cupac import cupac
from evaluation.abtest.cuped import cuped
from evaluation.abtest.diff_in_means import diff_in_means
from evaluation.abtest.inputs import as_covariates, as_outcome, as_treatment, check_varies
from evaluation.abtest.lin import lin
from evaluation.abtest.mlrate import mlrate
from evaluation.abtest.ratio import check_denominator, linearise, move_effect, ratio_delta
from evaluation.abtest.result import AbTestResult
from evaluation.abtest.state import state
from formulations.errors import UsageError

METHODS: tuple[str, ...] = ("dim", "cuped", "lin", "cupac", "mlrate", "state")
NEEDS_PREDICTION = frozenset({"cupac", "mlrate", "state"})
NEEDS_COVARIATES = frozenset({"cuped", "lin"}) | NEEDS_PREDICTION


def parse_methods(spec: str | Sequence[str]) -> tuple[str, ...]:
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec)]
    if items == ["all"]:
        return METHODS
    unknown = [m for m in items if m not in METHODS]
    if unknown or not items:
        raise UsageError(f"method: expected 'all' or a comma list of {', '.join(METHODS)}; "
                         f"got {', '.join(unknown) or 'nothing'}")
    return tuple(dict.fromkeys(items))


def analyze(
    y: Any,
    t: Any,
    x: Any | None = None,
    *,
    denominator: Any | None = None,
    methods: str | Sequence[str] = METHODS,
    predictor: str | Any = "gbm",
    folds: int = 2,
    seed: int = 0,
    alpha: float = 0.05,
    prediction: np.ndarray | None = None,
    guard: bool = True,
) -> tuple[AbTestResult, ...]:
    """Estimate the effect of ``t == 1`` on ``y`` (or on sum(y)/sum(denominator) per arm) with each
    method; every result carries ``variance_reduction`` against difference in means.

    ``x``: pre-period covariates (n, p), unaffected by treatment. CUPED and Lin use them directly;
    CUPAC, MLRATE and STATE use the ``folds``-fold cross-fitted ``predictor`` of the metric from
    them (or ``prediction`` when given, e.g. from a model trained on pre-experiment data).
    """
    chosen = parse_methods(methods)
    yy = as_outcome(y)
    n = yy.size
    tt = as_treatment(t, n)
    xx = as_covariates(x, n)
    if xx.shape[1] and (const := np.flatnonzero(np.ptp(xx, axis=0) == 0)).size:
        raise UsageError(f"covariates: column {int(const[0])} is constant; drop it")
    if denominator is None:
        check_varies(yy)
        metric = yy
        dim = diff_in_means(yy, tt, alpha=alpha)
        dim_metric = dim
    else:
        den = as_outcome(denominator, "denominator")
        if den.size != n:
            raise UsageError(f"denominator: {den.size} rows, expected {n}")
        check_denominator(den, tt)
        metric = linearise(yy, den)
        check_varies(metric, "ratio metric")
        dim = ratio_delta(yy, den, tt, alpha=alpha)
        dim_metric = diff_in_means(metric, tt, alpha=alpha)

    if any(m in NEEDS_COVARIATES for m in chosen) and xx.shape[1] == 0 and prediction is None:
        raise UsageError(f"methods {', '.join(m for m in chosen if m in NEEDS_COVARIATES)} "
                         "need covariates")
    pred = prediction
    if pred is None and any(m in NEEDS_PREDICTION for m in chosen):
        pred = crossfit_predict(xx, metric, predictor=predictor, folds=folds, seed=seed)

    out: list[AbTestResult] = []
    for m in chosen:
        if m == "dim":
            res = dim
        elif m == "cuped":
            res = cuped(metric, tt, xx, alpha=alpha)
        elif m == "lin":
            res = lin(metric, tt, xx, alpha=alpha)
        elif m == "cupac":
            assert pred is not None
            res = cupac(metric, tt, pred, alpha=alpha)
        elif m == "mlrate":
            assert pred is not None
            res = mlrate(metric, tt, pred, alpha=alpha)
        else:
            assert pred is not None
            res = state(metric, tt, pred, alpha=alpha, guard=guard)
        if denominator is not None and m != "dim":
            res = move_effect(res, dim.effect + (res.effect - dim_metric.effect))
            res = res.with_(notes=(*res.notes, "ratio by pooled linearisation"))
        out.append(res.with_(variance_reduction=1.0 - (res.se / dim.se) ** 2))
    return tuple(out)
