"""Choosing K by held-out value: a K that failed is never chosen (before, np.argmax over the
per-K scores picked a NaN, the score of a K whose plans all failed, as the largest); and the
cluster cells' standard errors use the same weights as their means."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evaluation.cluster_selection import best_of
from formulations.errors import UsageError


def table(values: dict[int, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"k": k, "value": v} for k, vs in values.items() for v in vs])


def test_a_failed_k_is_never_chosen() -> None:
    assert best_of(table({1: [1.0, 1.0], 3: [math.nan, math.nan], 4: [2.0, 2.0]})) == 4
    # a K with one failed budget is out too, even where its other budget scores best
    assert best_of(table({1: [1.0, 1.0], 3: [5.0, math.nan]})) == 1
    # ties go to the smaller K
    assert best_of(table({2: [1.0], 5: [1.0]})) == 2
    with pytest.raises(UsageError, match="no K"):
        best_of(table({1: [math.nan], 2: [math.nan]}))
    # what the old rule did: np.argmax over [1, nan, 2] is the nan
    assert int(np.argmax(np.array([1.0, math.nan, 2.0]))) == 1


def test_cell_standard_errors_follow_the_weights() -> None:
    from evaluation.cluster_cells import cluster_program_from_data
    from formulations.experiment_data import experiment_from_frame

    rng = np.random.default_rng(0)
    n = 4000
    arm = rng.integers(0, 2, n)
    x = rng.normal(size=n)
    # a non-uniform design: arm 1 three times as likely where x > 0
    p1 = np.where(x > 0, 0.75, 0.25)
    arm = (rng.random(n) < p1).astype(int)
    y = 1.0 + arm * (x > 0) + rng.normal(size=n)
    frame = pd.DataFrame({"arm": np.where(arm == 1, "t", "c"), "y": y, "x": x, "cost": arm * 1.0,
                          "p": np.where(arm == 1, p1, 1 - p1)})
    data = experiment_from_frame(frame, treatment="arm", control="c", outcome="y",
                                 features=["x"], cost="cost", propensity="p")
    labels = np.zeros(n, dtype=np.int64)  # one cluster: the weighted mean of the whole arm
    prog = cluster_program_from_data(data, labels, min_samples=10)
    w = 1.0 / data.design_propensity("test")
    w = w / w.mean()
    for j in range(2):
        sel = data.arm == j
        ws, ys = w[sel], data.outcome[sel]
        mu = float(np.sum(ws * ys) / np.sum(ws))
        se = math.sqrt(float(np.sum(ws**2 * (ys - mu) ** 2)) / float(np.sum(ws)) ** 2
                       * sel.sum() / (sel.sum() - 1))
        assert prog.value[0, 0, j] == pytest.approx(mu, rel=1e-12)
        assert prog.value_se[0, j] == pytest.approx(se, rel=1e-9)
