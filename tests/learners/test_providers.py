"""TSM-SL, T-learner and the scikit-learn adapter as parameter providers, end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.solve import solve
from formulations.errors import InstanceError, UsageError
from formulations.instance_file import load_instance
from learners.instance_writer import write_predictions
from learners.methods import FitSpec, fit
from learners.provider import BudgetWarning, ParameterProvider, incremental
from learners.saved import load_model, save_model
from learners.simulate import Simulation
from learners.training import TrainingOptions

FAST = TrainingOptions(epochs=25, patience=8, batch_size=256, seed=7)


def fitted(sim: Simulation, method: str, **kw: object) -> object:
    if method == "sklearn" and "params" not in kw:
        kw["params"] = {"max_iter": 50}
    spec = FitSpec(method=method, options=FAST, **kw)  # type: ignore[arg-type]
    return fit(sim.data["train"], spec, validation=sim.data["validation"])


@pytest.fixture(scope="module")
def tsm(small_sim: Simulation) -> object:
    return fitted(small_sim, "tsm-sl")


@pytest.mark.parametrize("method", ["tsm-sl", "t-learner", "sklearn"])
def test_every_method_beats_all_control_and_random(small_sim: Simulation, method: str) -> None:
    from evaluation.eom_curve import true_value_at_budget

    provider = fitted(small_sim, method)
    assert isinstance(provider, ParameterProvider)
    test = small_sim.data["test"]
    truth = small_sim.truth["test"]
    tv, tc = truth.incremental()
    budgets = np.array([0.4, 0.8, 1.6])  # per capita; the all-max spend is about 4
    curve = true_value_at_budget(*provider.predict(test), truth.value, truth.cost, budgets)
    assert np.all(curve.fits) and np.all(curve.spend <= budgets + 1e-12)
    # a random policy at the same true spend: every unit gets the model's arm mix at random,
    # mixed with control until the expected true spend equals the model's (exact expectation)
    for k in range(budgets.size):
        shares = np.bincount(curve.chosen[k], minlength=5) / test.n_units
        mix_value, mix_spend = shares @ tv.mean(axis=0), shares @ tc.mean(axis=0)
        random_value = mix_value * min(1.0, curve.spend[k] / mix_spend)
        assert curve.uplift[k] > 0.0  # all-control has uplift 0
        assert curve.uplift[k] > random_value + 0.005, (method, k, curve.uplift[k], random_value)
    # the deployment protocol (the engine at the nominal budget) is above all-control too
    chosen = provider.policy(test, 0.8, per_capita=True)
    rows = np.arange(chosen.shape[0])
    assert tv[rows, chosen].mean() > 0.02


def test_instance_is_incremental_and_policy_is_the_dual(small_sim: Simulation, tsm: object,
                                                         tmp_path: Path) -> None:
    test = small_sim.data["test"].subset(np.arange(400))
    value, cost = tsm.predict(test)  # type: ignore[attr-defined]
    inst = tsm.to_instance(test, 0.5, per_capita=True)  # type: ignore[attr-defined]
    dense = inst.dense()
    assert np.all(dense.value[:, 0] == 0) and np.all(dense.costs[0, :, 0] == 0)
    iv, ic = incremental(value, cost)
    assert np.array_equal(dense.value, iv) and np.array_equal(dense.costs[0], ic)
    assert inst.budgets[0].limit == pytest.approx(0.5 * 400)
    assert list(inst.unit_ids) == list(test.units) and inst.option_labels == test.arms
    chosen = tsm.policy(test, 0.5, per_capita=True)  # type: ignore[attr-defined]
    assert np.array_equal(chosen, solve(inst, "dual").assignment)
    # the written instance is the same instance: it solves to the same allocation
    for fmt in ("csv", "parquet"):
        out = tmp_path / fmt
        write_predictions(tsm, test, 200.0, out, table_format=fmt, chunk_units=150)  # type: ignore[arg-type]
        again = load_instance(out)
        assert np.array_equal(again.value, inst.value) and np.array_equal(again.costs, inst.costs)
        res = solve(again, "dual")
        assert np.array_equal(res.assignment, chosen)
        exact = solve(again, "highs", time_limit=60)
        assert exact.status == "optimal"
        assert exact.objective >= res.objective - 1e-9 * max(1.0, abs(res.objective))
        assert exact.objective <= res.bound + 1e-9 * max(1.0, abs(res.bound))


def test_saved_model_predicts_bit_identically(small_sim: Simulation, tsm: object,
                                              tmp_path: Path) -> None:
    save_model(tsm, tmp_path / "m")
    for name in ("model.toml", "weights.pt", "training_log.csv", "training_log.png"):
        assert (tmp_path / "m" / name).exists(), name
    again = load_model(tmp_path / "m")
    test = small_sim.data["test"]
    a, b = tsm.predict(test), again.predict(test)  # type: ignore[attr-defined]
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    with pytest.raises(UsageError, match="already exists"):
        save_model(tsm, tmp_path / "m")


def test_same_seed_same_weights(small_sim: Simulation) -> None:
    import torch

    a = fitted(small_sim, "t-learner")
    b = fitted(small_sim, "t-learner")
    for (ka, va), (kb, vb) in zip(a.network.state_dict().items(),  # type: ignore[attr-defined]
                                  b.network.state_dict().items(), strict=True):  # type: ignore[attr-defined]
        assert ka == kb
        torch.testing.assert_close(va, vb, rtol=0, atol=0, equal_nan=True)
    spec = FitSpec(method="t-learner", options=TrainingOptions(**{**FAST.__dict__, "seed": 8}))
    c = fit(small_sim.data["train"], spec, validation=small_sim.data["validation"])
    assert not torch.equal(next(c.network.parameters()),
                           next(a.network.parameters()))  # type: ignore[attr-defined]


def test_sklearn_model_saves_with_skops(small_sim: Simulation, tmp_path: Path) -> None:
    provider = fitted(small_sim, "sklearn", mode="arm-feature",
                      params={"max_iter": 30, "max_leaf_nodes": 8})
    save_model(provider, tmp_path / "gbm")
    assert (tmp_path / "gbm" / "models.skops").exists()
    again = load_model(tmp_path / "gbm")
    test = small_sim.data["test"]
    assert np.array_equal(provider.predict(test)[0], again.predict(test)[0])  # type: ignore[attr-defined]


def test_refuses_unknown_arm_and_other_format(small_sim: Simulation, tsm: object,
                                              tmp_path: Path) -> None:
    from formulations.experiment_data import experiment_from_frame

    test = small_sim.data["test"]
    df = test.features.assign(arm=np.where(test.arm == 1, "coupon_9",
                                           np.asarray(test.arms, dtype=object)[test.arm]),
                              y=test.outcome, c=test.cost)
    other = experiment_from_frame(df, treatment="arm", outcome="y", control="coupon_0",
                                  cost="c", features=list(test.features.columns), source="x.csv")
    with pytest.raises(InstanceError, match="arm 'coupon_9' was not seen in training"):
        tsm.predict(other)  # type: ignore[attr-defined]
    save_model(tsm, tmp_path / "m")
    toml = (tmp_path / "m" / "model.toml")
    toml.write_text(toml.read_text().replace("format_version = 1", "format_version = 2"))
    with pytest.raises(InstanceError, match="model format version 2; this treatalloc"):
        load_model(tmp_path / "m")


def test_budget_checks(small_sim: Simulation, tsm: object) -> None:
    test = small_sim.data["test"].subset(np.arange(300))
    with pytest.raises(UsageError, match="budget: expected >= 0"):
        tsm.to_instance(test, -1.0)  # type: ignore[attr-defined]
    with pytest.warns(BudgetWarning, match="does not bind"):
        tsm.to_instance(test, 1e6)  # type: ignore[attr-defined]
