"""The simulator: known potential outcomes, frozen settings, splits and truth on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formulations.errors import UsageError
from formulations.experiment_data import load_experiment
from learners.simulate import (
    ARM_SHARES,
    ARMS,
    FEATURES,
    SETTINGS,
    load_truth,
    simulate,
    write_simulation,
)

# The settings are frozen once published (docs/learners.md): these sums pin the draws of
# simulate(setting, n_users=1000, n_obs=300, seed=0). If this test fails, a setting changed
# (or numpy changed its random streams): add a new setting instead of changing one.
PINNED = {
    "scarce": {"train": (184.0, 385.0, 510, 11.768713), "test": (476.0, 1045.0, 1298, -4.444081),
               "obs": (182.0, 384.0, 534, -5.244933), "truth_test": 2291.779423},
    "plentiful": {"train": (359.428571, 803.25, 999, 4.971332),
                  "test": (279.285714, 715.642857, 813, 33.705431),
                  "obs": (198.392857, 313.535714, 455, -5.244933), "truth_test": 1393.072086},
}


@pytest.mark.parametrize("setting", sorted(PINNED))
def test_settings_are_frozen(setting: str) -> None:
    sim = simulate(setting, n_users=1000, n_obs=300, seed=0)
    for split in ("train", "test", "obs"):
        d = sim.data[split]
        got = (float(d.outcome.sum()), float(d.cost.sum()), int(d.arm.sum()),
               float(d.features["x0"].sum()))
        assert got == pytest.approx(PINNED[setting][split], rel=1e-9, abs=1e-6), split
    assert float(sim.truth["test"].value.sum()) == pytest.approx(
        PINNED[setting]["truth_test"], rel=1e-9)


def test_sizes_shares_and_reproducibility() -> None:
    s = SETTINGS["scarce"]
    sim = simulate("scarce", seed=3)
    n = {k: d.n_units for k, d in sim.data.items()}
    assert n == {"train": 10_000, "validation": 5_000, "test": 25_000, "obs": s.n_obs}
    d = sim.data["test"]
    assert d.arms == ARMS and tuple(d.features.columns) == FEATURES
    share = np.bincount(d.arm, minlength=5) / d.n_units
    assert np.allclose(share, ARM_SHARES, atol=0.01)
    assert d.propensity is not None and np.allclose(d.propensity, ARM_SHARES[d.arm])
    again = simulate("scarce", seed=3)
    assert np.array_equal(again.data["train"].outcome, sim.data["train"].outcome)
    other = simulate("scarce", seed=4)
    assert not np.array_equal(other.data["train"].outcome, sim.data["train"].outcome)
    units = np.concatenate([x.units for x in sim.data.values()])
    assert np.unique(units).size == units.size


def test_truth_has_the_documented_shape() -> None:
    sim = simulate("plentiful", n_users=20_000, n_obs=5_000, seed=1)
    t = sim.truth["test"]
    assert t.value.shape == (sim.data["test"].n_units, 5)
    assert np.all(t.cost[:, 0] == 0) and np.all(np.diff(t.cost, axis=1) > 0)
    assert np.all(np.diff(t.value, axis=1) > 0)  # every coupon level adds orders ...
    roi = np.diff(t.value, axis=1) / np.diff(t.cost, axis=1)
    assert np.all(np.diff(roi, axis=1) < 0)  # ... with diminishing returns per unit of cost
    v = sim.data["train"].outcome
    assert np.mean(v > np.mean(v) * 5) > 0.002  # a heavy right tail of heavy users
    # observed outcomes are noisy draws around the truth: unbiased on average
    d = sim.data["train"]
    truth = sim.truth["train"].value[np.arange(d.n_units), d.arm]
    assert abs(d.outcome.mean() - truth.mean()) < 4 * d.outcome.std() / np.sqrt(d.n_units)


def test_observational_log_is_confounded() -> None:
    sim = simulate("plentiful", n_users=2_000, n_obs=20_000, seed=2)
    log = sim.data["obs"]
    assert log.kind == "observational" and log.propensity is None
    lp = sim.truth["obs"].logging_propensity
    assert lp is not None and np.all((lp > 0) & (lp <= 1))
    # who got a coupon depends on who they are: the treated differ from the control in demand
    base = sim.truth["obs"].value[:, 0]
    assert abs(base[log.arm == 0].mean() - base[log.arm > 0].mean()) > 0.05
    assert not np.allclose(np.bincount(log.arm, minlength=5) / log.n_units, ARM_SHARES, atol=0.05)


def test_written_splits_load_and_truth_aligns(tmp_path: Path) -> None:
    sim = simulate("scarce", n_users=600, n_obs=100, seed=5)
    write_simulation(sim, tmp_path)
    for split in ("train", "validation", "test", "obs"):
        d = load_experiment(tmp_path / split)
        assert d.n_units == sim.data[split].n_units
        assert np.allclose(d.outcome, sim.data[split].outcome)
        t = load_truth(tmp_path, d)
        assert np.allclose(t.value, sim.truth[split].value)
    shuffled = load_experiment(tmp_path / "test").subset(np.arange(10)[::-1])
    t = load_truth(tmp_path / "truth.parquet", shuffled)
    assert np.allclose(t.value, sim.truth["test"].value[:10][::-1])
    manifest = (tmp_path / "train" / "data.toml").read_text()
    assert "truth" not in manifest


def test_bad_arguments() -> None:
    with pytest.raises(UsageError, match="unknown simulator setting 'rich'"):
        simulate("rich")
    with pytest.raises(UsageError, match="at least 30"):
        simulate("scarce", n_users=10)
    with pytest.raises(UsageError, match="obs"):
        simulate("scarce", n_obs=-1)
