"""The fast tier of the validation protocol (abtest.md 4): 500 simulated experiments per cell,
at most 2,000 units, ridge predictors; fixed seeds. Bands are about +-2.6 Monte-Carlo SE:
false-positive rate in [0.025, 0.075], 95% coverage in [0.925, 0.975]. |bias| <= 0.15 SD here
(0.1 SD in the 2,000-simulation benchmark: with 500 runs the Monte-Carlo SE of the mean is
0.045 SD, so 0.1 SD would be only 2.2 SE)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from evaluation.abtest.simulate import (
    CellSummary,
    PaperDgp,
    RatioDgp,
    gaussian,
    lognormal,
    resampled,
    run_cell,
    student_t3,
    zero_inflated,
)
from tests.conftest import shared_data

SIMS = 500
FPR_BAND = (0.025, 0.075)
COVER_BAND = (0.925, 0.975)
BIAS_SD = 0.15
GUARDED = ("dim", "cuped", "lin", "cupac", "mlrate", "state")


@cache
def cell(name: str) -> dict[str, CellSummary]:
    if name == "gaussian":
        rows = run_cell(gaussian(0.6), "aa", sims=SIMS, n=1000, seed=1, raw_state=False)
    elif name == "t3":
        rows = run_cell(student_t3(), "add", sims=SIMS, n=1000, seed=2, raw_state=False)
    elif name == "zero_inflated":
        rows = run_cell(zero_inflated(), "aa", sims=SIMS, n=1000, seed=3)
    elif name == "lognormal":
        rows = run_cell(lognormal(), "mult", sims=SIMS, n=1000, seed=4)
    elif name == "paper":
        rows = run_cell(PaperDgp(proxy_sd=10.0), "het", sims=SIMS, n=2000, seed=5,
                        raw_state=False)
    elif name == "ratio":
        rows = run_cell(RatioDgp(), "mult", sims=SIMS, n=1000, seed=6, raw_state=False)
    else:
        raise KeyError(name)
    return {r.method: r for r in rows}


def _in(value: float, band: tuple[float, float]) -> bool:
    return band[0] <= value <= band[1]


@pytest.mark.parametrize("name", ["gaussian", "zero_inflated"])
def test_aa_false_positive_rate(name: str) -> None:
    rows = cell(name)
    bad = {m: rows[m].reject_rate for m in GUARDED if not _in(rows[m].reject_rate, FPR_BAND)}
    assert not bad, f"A/A false-positive rate outside {FPR_BAND}: {bad}"


def test_cuped_variance_reduction_matches_rho_squared() -> None:
    rows = cell("gaussian")
    # per-run 1 - se^2/se_dim^2, averaged: the Monte-Carlo noise of the empirical variance ratio
    # at 500 runs (~0.04) is wider than the +-0.03 tolerance; the 2,000-run benchmark checks both
    assert rows["cuped"].vr_mean == pytest.approx(0.36, abs=0.03)
    assert rows["cuped"].vr_empirical == pytest.approx(0.36, abs=0.08)


@pytest.mark.parametrize("name", ["t3", "lognormal", "paper", "ratio"])
def test_coverage_and_bias_with_an_effect(name: str) -> None:
    rows = cell(name)
    bad_cover = {m: rows[m].coverage for m in GUARDED if not _in(rows[m].coverage, COVER_BAND)}
    assert not bad_cover, f"95% coverage outside {COVER_BAND}: {bad_cover}"
    bad_bias = {m: round(rows[m].bias_sd, 3) for m in GUARDED if abs(rows[m].bias_sd) > BIAS_SD}
    assert not bad_bias, f"|bias| > {BIAS_SD} SD: {bad_bias}"


def test_state_beats_cuped_on_symmetric_heavy_tails() -> None:
    rows = cell("t3")
    assert rows["state"].fallback_share == 0.0
    assert rows["state"].vr_empirical > rows["cuped"].vr_empirical + 0.15


def test_state_halves_cupac_variance_on_the_paper_style_simulation() -> None:
    rows = cell("paper")
    assert rows["state"].fallback_share == 0.0
    vs_cupac = 1 - rows["state"].sd ** 2 / rows["cupac"].sd ** 2
    assert vs_cupac >= 0.5, f"STATE variance only {vs_cupac:.1%} below CUPAC"


def test_guard_prevents_the_known_state_failures() -> None:
    zi, ln = cell("zero_inflated"), cell("lognormal")
    assert zi["state"].fallback_share == 1.0
    # the skewness check misses a few lognormal samples of 1,000 units (measured: 2 of 500)
    assert ln["state"].fallback_share >= 0.99
    # what the guard prevents: the unguarded fit collapses on the point mass (coverage ~0) and
    # loses much of a multiplicative effect on skewed data
    assert zi["state_raw"].coverage < 0.5
    assert ln["state_raw"].coverage < 0.8 and ln["state_raw"].bias < 0


def test_aa_on_resampled_hillstrom_spend() -> None:
    d = pd.read_csv(shared_data("hillstrom", "hillstrom.csv"))
    pool = d[d["segment"] == "No E-Mail"]
    x = pool[["recency", "history", "mens", "womens", "newbie"]].to_numpy(float)
    dgp = resampled("hillstrom", pool["spend"].to_numpy(float), x, delta=0.1)
    rows = {r.method: r for r in run_cell(dgp, "aa", sims=SIMS, n=2000, seed=7,
                                          raw_state=False)}
    bad = {m: rows[m].reject_rate for m in GUARDED if not _in(rows[m].reject_rate, FPR_BAND)}
    assert not bad, f"A/A false-positive rate outside {FPR_BAND}: {bad}"
    assert rows["state"].fallback_share == 1.0
    assert np.isfinite(rows["dim"].sd)
