"""PNG plots: written (atomically) for every kind of result, refused for other file types."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.aucc import aucc
from evaluation.eom_curve import eom_curve, true_value_at_budget
from evaluation.plots import (
    plot_cost_curve,
    plot_eom_curves,
    plot_training_log,
    plot_uplift_curves,
)
from evaluation.uplift_curves import qini_curve, uplift_curve
from formulations.errors import UsageError

PNG = b"\x89PNG\r\n\x1a\n"


def _is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == PNG and path.stat().st_size > 2000


def _no_leftovers(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture(scope="module")
def rct():
    rng = np.random.default_rng(0)
    n, m = 2000, 3
    mu = np.stack([np.zeros(n), rng.uniform(0, 1, n), rng.uniform(0, 2, n)], axis=1)
    cost = np.tile([0.0, 1.0, 2.0], (n, 1))
    t = rng.integers(0, m, n)
    y = mu[np.arange(n), t] + rng.normal(0, 1, n)
    return mu, cost, t, y, cost[np.arange(n), t]


def test_eom_curves_plain_normalised_and_with_truth(rct, tmp_path: Path) -> None:
    mu, cost, t, y, c = rct
    budgets = [0.2, 0.5, 0.8, 1.1]
    noisy = mu + np.random.default_rng(1).normal(0, 1, mu.shape)
    curves = {"oracle": eom_curve(t, y, c, mu, cost, budgets, n_boot=30),
              "noisy": eom_curve(t, y, c, noisy, cost, budgets, n_boot=30)}
    truth = {"oracle": true_value_at_budget(mu, cost, mu, cost, budgets),
             "noisy": true_value_at_budget(noisy, cost, mu, cost, budgets)}
    out = plot_eom_curves(curves, tmp_path / "eom.png")
    assert out == tmp_path / "eom.png" and _is_png(out)
    assert _is_png(plot_eom_curves(curves, tmp_path / "up.png", what="uplift",
                                   baseline="noisy", true_curves=truth, title="t"))
    assert _no_leftovers(tmp_path)
    with pytest.raises(UsageError, match="baseline: expected one of the curve names"):
        plot_eom_curves(curves, tmp_path / "x.png", baseline="tsm")
    with pytest.raises(UsageError, match="what: expected"):
        plot_eom_curves(curves, tmp_path / "x.png", what="roi")


def test_cost_and_uplift_curves(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    n = 5000
    tr = rng.random(n) < 0.7
    y = rng.binomial(1, 0.1 + 0.1 * tr).astype(float)
    c = rng.binomial(1, 0.3 + 0.2 * tr).astype(float)
    s = rng.normal(size=n)
    assert _is_png(plot_cost_curve(aucc(tr, y, c, s), tmp_path / "cost.png"))
    assert _is_png(plot_cost_curve({"a": aucc(tr, y, c, s), "b": aucc(tr, y, c, -s)},
                                   tmp_path / "cost2.png"))
    assert _is_png(plot_uplift_curves({"a": qini_curve(tr, y, s)}, tmp_path / "qini.PNG"))
    with pytest.raises(UsageError, match="one kind"):
        plot_uplift_curves({"q": qini_curve(tr, y, s), "u": uplift_curve(tr, y, s)},
                           tmp_path / "mix.png")
    assert _no_leftovers(tmp_path)


def test_training_log(tmp_path: Path) -> None:
    log = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [1.0, 0.7, 0.6],
                        "val_eom": [0.2, 0.3, 0.31], "val_loss": [1.1, 0.9, 0.8]})
    assert _is_png(plot_training_log(log, tmp_path / "log.png"))
    with pytest.raises(UsageError, match=r"log: missing column\(s\) \['val_eom'\]"):
        plot_training_log(log.drop(columns="val_eom"), tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


@pytest.mark.parametrize("name", ["plot.jpg", "plot", "plot.png.svg"])
def test_a_path_not_ending_in_png_is_refused(rct, tmp_path: Path, name: str) -> None:
    mu, cost, t, y, c = rct
    curves = {"m": eom_curve(t, y, c, mu, cost, [0.5])}
    with pytest.raises(UsageError, match=r"path: expected a file name ending in \.png, got"):
        plot_eom_curves(curves, tmp_path / name)
    log = pd.DataFrame({"epoch": [1], "train_loss": [1.0], "val_eom": [0.1]})
    with pytest.raises(UsageError, match=r"ending in \.png"):
        plot_training_log(log, tmp_path / name)
    assert list(tmp_path.iterdir()) == []
