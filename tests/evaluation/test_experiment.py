"""Evaluation on ExperimentData: the wrappers pass the data on, check shapes, refuse
observational logs for decision metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.aucc import aucc, roi_score
from evaluation.eom_curve import eom_curve, paired_difference
from evaluation.experiment import (
    aucc_on,
    default_budgets,
    eom_curve_on,
    paired_difference_on,
    prediction_metrics_on,
    uplift_curves_on,
)
from formulations.errors import UsageError
from formulations.experiment_data import experiment_from_frame


def _frame(n: int = 600, arms: tuple[str, ...] = ("none", "small", "big"), seed: int = 0):
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, len(arms), n)
    return pd.DataFrame({
        "treatment": np.array(arms)[arm], "orders": rng.poisson(1.0 + 0.3 * arm),
        "subsidy": arm * rng.uniform(0.5, 1.5, n), "x": rng.normal(size=n),
    })


def _data(kind: str = "rct", arms: tuple[str, ...] = ("none", "small", "big")):
    return experiment_from_frame(_frame(arms=arms), treatment="treatment", outcome="orders",
                                 control="none", cost="subsidy", features=["x"], kind=kind,
                                 arms=list(arms), name="promo", source="promo.csv")


def _predictions(data, seed: int = 1):
    rng = np.random.default_rng(seed)
    vp = np.cumsum(rng.uniform(0, 1, (data.n_units, data.n_arms)), axis=1)
    cp = np.tile(np.arange(data.n_arms, dtype=float), (data.n_units, 1))
    return vp, cp


def test_eom_on_rct_data_equals_the_array_function() -> None:
    data = _data()
    vp, cp = _predictions(data)
    budgets = default_budgets(data, 4)
    assert budgets.size == 4 and budgets[0] > 0
    on = eom_curve_on(data, vp, cp, budgets, n_boot=20)
    direct = eom_curve(data.arm, data.outcome, data.cost, vp, cp, budgets,
                       propensity=data.propensity, n_boot=20)
    assert on.value.tolist() == direct.value.tolist()
    assert on.value_ci is not None and on.value_ci.tolist() == direct.value_ci.tolist()
    assert eom_curve_on(data, vp, cp).budgets.tolist() == default_budgets(data).tolist()
    other = eom_curve_on(data, vp[:, ::-1].copy(), cp, budgets)
    d = paired_difference_on(data, on, other, n_boot=50)
    ref = paired_difference(on, other, data.arm, data.outcome, data.cost,
                            propensity=data.propensity, n_boot=50)
    assert d.difference.tolist() == ref.difference.tolist()
    metrics = prediction_metrics_on(data, vp, cp)
    assert metrics["arm"].tolist() == ["none", "small", "big", "all"]


@pytest.mark.parametrize(
    "call",
    [
        lambda d, vp, cp: eom_curve_on(d, vp, cp, [0.5]),
        lambda d, vp, cp: default_budgets(d),
        lambda d, vp, cp: aucc_on(d, vp, cp),
        lambda d, vp, cp: uplift_curves_on(d, vp),
    ],
)
def test_observational_data_is_refused_for_decision_metrics(call) -> None:
    data = _data(kind="observational", arms=("none", "small"))
    vp, cp = _predictions(data)
    with pytest.raises(UsageError) as err:
        call(data, vp, cp)
    msg = str(err.value)
    assert msg.startswith("promo.csv: ") and "\n" not in msg
    assert "needs randomised data" in msg and "'promo' is observational" in msg
    # prediction metrics on the factual rows are fine on any data
    assert len(prediction_metrics_on(data, vp, cp)) == 3


def test_prediction_shapes_are_checked_against_the_data() -> None:
    data = _data()
    vp, cp = _predictions(data)
    with pytest.raises(UsageError, match=r"value_pred: expected shape \(units, arms\) = "
                       r"\(600, 3\) for data 'promo'.* got \(600, 2\)"):
        eom_curve_on(data, vp[:, :2], cp, [0.5])
    with pytest.raises(UsageError, match=r"cost_pred: expected shape .* got \(599, 3\)"):
        prediction_metrics_on(data, vp, cp[:599])


def test_binary_metrics_on_binary_data_only() -> None:
    data = _data(arms=("none", "small"))
    vp, cp = _predictions(data)
    r = aucc_on(data, vp, cp, quantile=50)
    ref = aucc(data.arm == 1, data.outcome, data.cost,
               roi_score(vp[:, 1] - vp[:, 0], cp[:, 1] - cp[:, 0]), quantile=50)
    assert r.aucc == ref.aucc
    qini, up = uplift_curves_on(data, vp)
    assert qini.kind == "qini" and up.kind == "uplift" and qini.n == data.n_units
    three = _data()
    with pytest.raises(UsageError, match=r"binary treatment .* has 3 arms"):
        aucc_on(three, *_predictions(three))
