"""Exact checks against independent computations (abtest.md protocol P8)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize

from evaluation.abtest import analyze, holm
from evaluation.abtest.cuped import cuped, cuped_theta
from evaluation.abtest.diff_in_means import diff_in_means
from evaluation.abtest.lin import interacted_design, lin
from evaluation.abtest.mlrate import mlrate
from evaluation.abtest.ratio import arm_linearised, linearise, ratio_delta
from evaluation.abtest.state import StateGuardWarning, state_design, state_unguarded
from evaluation.abtest.t_regression import fit_t_regression, t_loglik
from tests.conftest import shared_data


def _data(n: int = 3000, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    t = (rng.random(n) < 0.4).astype(np.int8)
    y = 5 + 2 * x[:, 0] - x[:, 1] + 0.7 * t + 0.5 * t * x[:, 0] + rng.standard_normal(n) * (
        1 + 0.5 * np.abs(x[:, 1]))
    return y, t, x


def test_cuped_theta_is_the_pooled_ols_slope() -> None:
    y, t, x = _data()
    slope = np.polyfit(x[:, 0], y, 1)[0]
    assert cuped_theta(y, x[:, :1])[0] == pytest.approx(slope, rel=1e-10)
    cov = np.cov(y, x[:, 0])
    assert cuped_theta(y, x[:, :1])[0] == pytest.approx(cov[0, 1] / cov[1, 1], rel=1e-10)
    multi = sm.OLS(y, sm.add_constant(x)).fit().params[1:]
    np.testing.assert_allclose(cuped_theta(y, x), multi, rtol=1e-10)
    # the CUPED effect is DIM minus theta times the covariate imbalance
    res = cuped(y, t, x[:, 0])
    dim = diff_in_means(y, t)
    imbalance = x[t == 1, 0].mean() - x[t == 0, 0].mean()
    assert res.effect == pytest.approx(dim.effect - slope * imbalance, rel=1e-10)


def test_lin_equals_statsmodels_ols_hc2() -> None:
    y, t, x = _data()
    ours = lin(y, t, x)
    ref = sm.OLS(y, interacted_design(t, x)).fit(cov_type="HC2")
    assert ours.effect == pytest.approx(ref.params[1], rel=1e-10)
    assert ours.se == pytest.approx(ref.bse[1], rel=1e-8)
    assert ours.p_value == pytest.approx(ref.pvalues[1], rel=1e-6)


def test_mlrate_equals_statsmodels_hc1() -> None:
    y, t, x = _data()
    g = x @ np.array([2.0, -1.0]) + 5
    ours = mlrate(y, t, g)
    design = np.column_stack([np.ones_like(g), t, g, t * (g - g.mean())])
    ref = sm.OLS(y, design).fit(cov_type="HC1")
    assert ours.effect == pytest.approx(ref.params[1], rel=1e-10)
    assert ours.se == pytest.approx(ref.bse[1], rel=1e-8)


def _direct_t_mle(y: np.ndarray, design: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Maximise the Student-t log-likelihood over (a, ln sigma2, ln nu) directly."""
    k = design.shape[1]

    def nll(p: np.ndarray) -> float:
        return -t_loglik(y - design @ p[:k], float(np.exp(p[k])), float(np.exp(p[k + 1])))

    res = optimize.minimize(nll, start, method="BFGS", options={"gtol": 1e-9, "maxiter": 10_000})
    res = optimize.minimize(nll, res.x, method="Nelder-Mead",
                            options={"xatol": 1e-12, "fatol": 1e-13, "maxiter": 40_000})
    return np.asarray(res.x)


def test_state_fit_equals_direct_t_maximum_likelihood() -> None:
    rng = np.random.default_rng(11)
    n = 2000
    x = rng.standard_normal(n)
    t = (rng.random(n) < 0.5).astype(np.int8)
    y = 10 + 3 * x + 1.0 * t + 2 * rng.standard_t(3, n)
    design = state_design(t, x)
    fit = fit_t_regression(y, design)
    assert fit.converged
    # start the direct optimiser away from the EM answer so agreement is not by construction
    start = np.r_[np.linalg.lstsq(design, y, rcond=None)[0], np.log(np.var(y)), np.log(10.0)]
    p = _direct_t_mle(y, design, start)
    np.testing.assert_allclose(fit.coef, p[:3], rtol=1e-4)
    assert fit.sigma2 == pytest.approx(np.exp(p[3]), rel=1e-3)
    assert fit.nu == pytest.approx(np.exp(p[4]), rel=1e-3)
    assert fit.loglik >= -_neg(y, design, p) - 1e-6
    res = state_unguarded(y, t, x)
    assert abs(res.effect - p[1]) < 1e-3 * res.se
    assert 2 < fit.nu < 5  # t3 noise: the nu update finds a heavy tail


def _neg(y: np.ndarray, design: np.ndarray, p: np.ndarray) -> float:
    k = design.shape[1]
    return -t_loglik(y - design @ p[:k], float(np.exp(p[k])), float(np.exp(p[k + 1])))


def test_state_with_fixed_nu_equals_the_direct_mle() -> None:
    rng = np.random.default_rng(3)
    n = 1500
    x = rng.standard_normal(n)
    t = (rng.random(n) < 0.5).astype(np.int8)
    y = 1 + x + 0.3 * t + rng.standard_t(5, n)
    design = state_design(t, x)
    fit = fit_t_regression(y, design, nu=10.0)
    assert fit.nu == 10.0

    def nll(p: np.ndarray) -> float:
        return -t_loglik(y - design @ p[:3], float(np.exp(p[3])), 10.0)

    p = optimize.minimize(nll, np.r_[0, 0, 0, 0.0], method="BFGS",
                          options={"gtol": 1e-10}).x
    np.testing.assert_allclose(fit.coef, p[:3], rtol=1e-4)


def test_nsw_difference_in_means_is_the_published_benchmark() -> None:
    d = pd.read_csv(shared_data("lalonde_nsw", "nsw_mixtape.csv"))
    res = diff_in_means(d["re78"].to_numpy(float), d["treat"].to_numpy())
    assert res.effect == pytest.approx(1794.34, abs=0.01)
    assert (res.n_control, res.n_treatment) == (260, 185)
    assert res.se == pytest.approx(671.0, abs=0.5)  # abtest.md section 3


def _ratio_data(n: int = 4000, seed: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = (rng.random(n) < 0.5).astype(np.int8)
    sessions = 1 + rng.poisson(3, n).astype(float)
    orders = rng.poisson(0.1 * sessions * (1 + 0.1 * t)).astype(float)
    return orders, sessions, t


def test_ratio_delta_method_equals_per_arm_linearisation() -> None:
    orders, sessions, t = _ratio_data()
    delta = ratio_delta(orders, sessions, t)
    e = arm_linearised(orders, sessions, t)
    welch = diff_in_means(e, t)
    assert welch.se == pytest.approx(delta.se, rel=1e-10)
    r0 = orders[t == 0].sum() / sessions[t == 0].sum()
    r1 = orders[t == 1].sum() / sessions[t == 1].sum()
    assert delta.effect == pytest.approx(r1 - r0, rel=1e-12)


def test_ratio_pooled_linearisation_agrees_with_the_delta_method() -> None:
    orders, sessions, t = _ratio_data()
    delta = ratio_delta(orders, sessions, t)
    w = linearise(orders, sessions)
    lin_dim = diff_in_means(w, t)
    assert lin_dim.effect == pytest.approx(delta.effect, rel=0.02)
    assert lin_dim.se == pytest.approx(delta.se, rel=0.02)
    # and every estimator runs on the ratio; DIM keeps the exact ratio difference. The
    # linearised metric has a point mass (orders = 0), so STATE's guard falls back, with a warning
    with pytest.warns(StateGuardWarning, match="point mass"):
        res = {r.method: r for r in analyze(orders, t, sessions[:, None], denominator=sessions,
                                            predictor="ridge")}
    assert "fallback" in res["state"].detail
    assert res["dim"].effect == pytest.approx(delta.effect, rel=1e-12)
    for m in ("cuped", "lin", "cupac", "mlrate", "state"):
        assert abs(res[m].effect - delta.effect) < 0.5 * delta.se, m


def test_ratio_delta_se_matches_the_bootstrap() -> None:
    orders, sessions, t = _ratio_data(n=2000, seed=9)
    delta = ratio_delta(orders, sessions, t)
    rng = np.random.default_rng(0)
    idx0, idx1 = np.flatnonzero(t == 0), np.flatnonzero(t == 1)
    boot = np.empty(2000)
    for b in range(boot.size):
        i0 = rng.choice(idx0, idx0.size)
        i1 = rng.choice(idx1, idx1.size)
        boot[b] = orders[i1].sum() / sessions[i1].sum() - orders[i0].sum() / sessions[i0].sum()
    assert delta.se == pytest.approx(boot.std(ddof=1), rel=0.05)


def test_holm_matches_statsmodels() -> None:
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, 0.2, 0.005])
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-12)
