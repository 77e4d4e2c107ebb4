"""Per-arm prediction metrics: factual errors and errors against a simulator's truth."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.prediction_metrics import prediction_metrics
from formulations.errors import UsageError


def test_hand_computed_factual_and_true_errors() -> None:
    received = np.array([0, 0, 1])
    outcome = np.array([1.0, 2.0, 5.0])
    cost = np.array([0.0, 0.0, 1.0])
    vp = np.array([[2.0, 4.0], [1.0, 6.0], [0.0, 3.0]])
    cp = np.array([[0.0, 1.0], [0.0, 1.0], [0.5, 2.0]])
    tv = np.array([[1.0, 4.0], [1.0, 5.0], [1.0, 4.0]])
    tc = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    df = prediction_metrics(received, outcome, cost, vp, cp, true_value=tv, true_cost=tc,
                            arms=["control", "coupon"])
    assert df["arm"].tolist() == ["control", "coupon", "all"]
    assert df["n_rows"].tolist() == [2, 1, 3]
    # factual outcome errors (pred - obs): arm 0: 2-1 = 1, 1-2 = -1; arm 1: 3-5 = -2
    assert df["outcome_rmse"].tolist() == pytest.approx([1.0, 2.0, np.sqrt(6.0 / 3.0)])
    assert df["outcome_mae"].tolist() == pytest.approx([1.0, 2.0, 4.0 / 3.0])
    assert df["outcome_mean_error"].tolist() == pytest.approx([0.0, -2.0, -2.0 / 3.0])
    # factual cost errors: arm 0: 0, 0; arm 1: 2 - 1 = 1
    assert df["cost_rmse"].tolist() == pytest.approx([0.0, 1.0, np.sqrt(1.0 / 3.0)])
    # against the truth, all units: arm 0 errors 1, 0, -1; arm 1 errors 0, 1, -1
    assert df["value_rmse_true"].tolist() == pytest.approx(
        [np.sqrt(2.0 / 3.0), np.sqrt(2.0 / 3.0), np.sqrt(4.0 / 6.0)])
    # incremental (arm 1 - arm 0): predicted 2, 5, 3; true 3, 4, 3 -> errors -1, 1, 0
    up = df["uplift_rmse_true"].tolist()
    assert np.isnan(up[0]) and up[1:] == pytest.approx([np.sqrt(2.0 / 3.0)] * 2)
    # incremental cost: predicted 1, 1, 1.5; true 1, 1, 1 -> errors 0, 0, 0.5
    assert df["incremental_cost_rmse_true"].tolist()[1:] == pytest.approx(
        [np.sqrt(0.25 / 3.0)] * 2)


def test_without_truth_and_an_arm_without_rows() -> None:
    df = prediction_metrics(np.array([0, 0]), [1.0, 1.0], [0.0, 0.0], np.ones((2, 3)),
                            np.zeros((2, 3)))
    assert "value_rmse_true" not in df.columns
    assert df["arm"].tolist() == ["0", "1", "2", "all"]
    assert df["n_rows"].tolist() == [2, 0, 0, 2]
    assert np.isnan(df["outcome_rmse"][1])


def test_bad_shapes() -> None:
    with pytest.raises(UsageError, match=r"true_value: expected shape \(2, 2\)"):
        prediction_metrics(np.array([0, 1]), [1.0, 1.0], [0.0, 0.0], np.ones((2, 2)),
                           np.zeros((2, 2)), true_value=np.ones((2, 3)))
    with pytest.raises(UsageError, match="arms: expected 2 labels"):
        prediction_metrics(np.array([0, 1]), [1.0, 1.0], [0.0, 0.0], np.ones((2, 2)),
                           np.zeros((2, 2)), arms=["a"])
