"""The STATE guard: it fires where STATE is known to fail, and stays quiet where STATE is meant to
work (symmetric heavy tails, rare gross outliers)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from evaluation.abtest import analyze
from evaluation.abtest.guard import check_state, kelly_skewness
from evaluation.abtest.simulate import PaperDgp
from evaluation.abtest.state import StateGuardWarning, state, state_unguarded


def _xt(n: int, seed: int) -> tuple[np.random.Generator, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng, rng.standard_normal(n), (rng.random(n) < 0.5).astype(np.int8)


def test_guard_triggers_on_zero_inflated_revenue_and_falls_back() -> None:
    rng, x, t = _xt(4000, 1)
    y = (rng.random(4000) < 0.5) * np.exp(1 + 0.5 * x + 0.8 * rng.standard_normal(4000))
    with pytest.warns(StateGuardWarning, match="point mass"):
        res = state(y, t, x)
    assert res.method == "state"
    assert res.detail["fallback"] == "mlrate"
    assert any("fell back to mlrate" in note for note in res.notes)
    assert res.se > 0.01  # a real standard error, unlike the collapsed fit below
    raw = state_unguarded(y, t, x)
    assert abs(raw.effect) < 1e-6 and not raw.se > 1e-6  # collapsed onto the zeros


def test_guard_triggers_on_skewed_continuous_outcomes() -> None:
    rng, x, t = _xt(4000, 2)
    y = np.exp(1 + 0.5 * x + 0.8 * rng.standard_normal(4000)) * (1 + 0.1 * t)
    report = check_state(y, y - np.polyval(np.polyfit(x, y, 1), x))
    assert report.triggered and "skewed" in report.reasons[0]


def test_guard_stays_quiet_on_symmetric_heavy_tails_and_rare_outliers() -> None:
    rng, x, t = _xt(4000, 3)
    y = 10 + 3 * x + 0.3 * t + 2 * rng.standard_t(3, 4000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", StateGuardWarning)
        res = state(y, t, x)
    assert "fallback" not in res.detail and res.detail["nu"] < 5
    d = PaperDgp(proxy_sd=10.0).draw(4000, np.random.default_rng(4), "het")
    assert d.proxy is not None
    z = np.column_stack([np.ones(4000), d.t, d.proxy])
    coef = np.linalg.lstsq(z, d.y, rcond=None)[0]
    assert not check_state(d.y, d.y - z @ coef).triggered


def test_guard_on_a_binary_metric_through_analyze() -> None:
    rng, x, t = _xt(3000, 5)
    y = (rng.random(3000) < 0.3 + 0.05 * t).astype(float)
    with pytest.warns(StateGuardWarning):
        res = {r.method: r for r in analyze(y, t, x[:, None], predictor="ridge")}
    assert res["state"].effect == pytest.approx(res["mlrate"].effect, rel=1e-12)


def test_kelly_skewness_values() -> None:
    assert kelly_skewness(np.linspace(-1, 1, 1001)) == pytest.approx(0.0, abs=1e-12)
    z = np.random.default_rng(0).standard_normal(200_000)
    assert kelly_skewness(np.exp(z)) == pytest.approx(0.565, abs=0.01)  # lognormal(0, 1)
