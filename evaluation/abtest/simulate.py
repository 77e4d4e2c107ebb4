"""Data-generating processes and the Monte-Carlo loop of the validation protocol (abtest.md 4).

Every draw has a known population average treatment effect, so coverage and bias are measured
against the truth with each run's own standard error (not the Monte-Carlo SD).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import integrate, stats

from evaluation.abtest.analyze import analyze
from evaluation.abtest.crossfit import crossfit_predict
from evaluation.abtest.ratio import linearise
from evaluation.abtest.state import StateGuardWarning, state_unguarded


@dataclass(frozen=True, eq=False)
class Draw:
    y: np.ndarray
    t: np.ndarray
    x: np.ndarray
    ate: float  # the population ATE the estimators target
    denominator: np.ndarray | None = None
    proxy: np.ndarray | None = None  # an externally supplied prediction (noisy oracle)


# A potential-outcome sampler: (n, rng) -> (y0, x). ``mean0`` is E[Y(0)] (for multiplicative lifts).
Sampler = Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True, eq=False)
class OutcomeDgp:
    """Y(0) from ``sample``; effect 'aa' (none), 'add' (Y(0) + delta) or 'mult' (Y(0)(1 + lift))."""

    name: str
    sample: Sampler
    mean0: float
    delta: float
    lift: float = 0.10

    def draw(self, n: int, rng: np.random.Generator, effect: str) -> Draw:
        y0, x = self.sample(n, rng)
        t = (rng.random(n) < 0.5).astype(np.int8)
        if effect == "aa":
            y, ate = y0, 0.0
        elif effect == "add":
            y, ate = y0 + self.delta * t, self.delta
        elif effect == "mult":
            y, ate = y0 * (1 + self.lift * t), self.lift * self.mean0
        else:
            raise ValueError(f"effect: expected aa, add or mult, got {effect!r}")
        return Draw(y=y, t=t, x=x, ate=ate)


def gaussian(rho: float = 0.6) -> OutcomeDgp:
    """Y(0) = 10 + rho x + sqrt(1 - rho^2) e, x, e ~ N(0, 1): CUPED removes exactly rho^2."""
    def sample(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = rng.standard_normal(n)
        return 10 + rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(n), x[:, None]

    return OutcomeDgp("gaussian", sample, mean0=10.0, delta=0.1)


def student_t3() -> OutcomeDgp:
    """Y(0) = 10 + 3x + 2 t_3 (symmetric heavy tail; abtest.md 1.8 row 1)."""
    def sample(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = rng.standard_normal(n)
        return 10 + 3 * x + 2 * rng.standard_t(3, n), x[:, None]

    return OutcomeDgp("t3", sample, mean0=10.0, delta=0.3)


def lognormal() -> OutcomeDgp:
    """Revenue Y(0) = exp(1 + 0.5 x + 0.8 e): skewed, E = exp(1 + (0.25 + 0.64)/2)."""
    def sample(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = rng.standard_normal(n)
        return np.exp(1 + 0.5 * x + 0.8 * rng.standard_normal(n)), x[:, None]

    return OutcomeDgp("lognormal", sample, mean0=math.exp(1 + 0.445), delta=0.4)


def zero_inflated() -> OutcomeDgp:
    """Half the units spend 0, the others lognormal as above: a point mass plus a skewed tail."""
    def sample(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = rng.standard_normal(n)
        buy = rng.random(n) < 0.5
        return buy * np.exp(1 + 0.5 * x + 0.8 * rng.standard_normal(n)), x[:, None]

    return OutcomeDgp("zero_inflated", sample, mean0=0.5 * math.exp(1 + 0.445), delta=0.3)


def resampled(name: str, y_pool: np.ndarray, x_pool: np.ndarray, delta: float) -> OutcomeDgp:
    """Units drawn with replacement from a real control arm; the truth is the pool's mean."""
    y_pool = np.asarray(y_pool, dtype=float)
    x_pool = np.asarray(x_pool, dtype=float)

    def sample(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        idx = rng.integers(0, y_pool.size, n)
        return y_pool[idx], x_pool[idx]

    return OutcomeDgp(name, sample, mean0=float(y_pool.mean()), delta=delta)


@dataclass(frozen=True, eq=False)
class PaperDgp:
    """The STATE paper-style simulation (abtest.md 1.7, papers.md 3.5; reconstruction [I]).

    X in R^5 ~ N(mu, I), mu_j fixed integers in 0..9; b(X) = 10 sin(pi x0 x1) + 6 x2^2 + 10|x3|
    + 5|x4| + 50; noise N(0, 25^2); ITE = x0 x2 + log(1 + e^{x1}). A share ``outliers`` (0.2%) of
    units is replaced by U[m + 4 s, m + 20 s] (m, s: mean and SD of Y(0) in a 200,000-unit
    population) with ITE 0, so the mean ATE is (1 - outliers) E[ITE].
    ``proxy_sd``: when set, the draw carries a noisy oracle proxy b(X) + N(0, proxy_sd^2) standing
    in for a well-fitted ML model (as in abtest.md's re-run); None = use a cross-fitted learner.
    """

    name: str = "paper"
    outliers: float = 0.002
    proxy_sd: float | None = None
    seed: int = 20240716
    mu: np.ndarray = field(init=False)
    pop_mean: float = field(init=False)
    pop_sd: float = field(init=False)
    mean_ite: float = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        mu = rng.integers(0, 10, 5).astype(float)
        object.__setattr__(self, "mu", mu)
        x = mu + rng.standard_normal((200_000, 5))
        y0 = self._base(x) + 25 * rng.standard_normal(x.shape[0])
        object.__setattr__(self, "pop_mean", float(y0.mean()))
        object.__setattr__(self, "pop_sd", float(y0.std()))
        softplus, _ = integrate.quad(
            lambda z: np.logaddexp(0.0, z) * stats.norm.pdf(z, loc=mu[1]), mu[1] - 12, mu[1] + 12,
            epsabs=1e-12)
        object.__setattr__(self, "mean_ite", float(mu[0] * mu[2] + softplus))

    @staticmethod
    def _base(x: np.ndarray) -> np.ndarray:
        return (10 * np.sin(np.pi * x[:, 0] * x[:, 1]) + 6 * x[:, 2] ** 2 + 10 * np.abs(x[:, 3])
                + 5 * np.abs(x[:, 4]) + 50)

    def draw(self, n: int, rng: np.random.Generator, effect: str) -> Draw:
        x = self.mu + rng.standard_normal((n, 5))
        base = self._base(x)
        y0 = base + 25 * rng.standard_normal(n)
        ite = x[:, 0] * x[:, 2] + np.logaddexp(0.0, x[:, 1])
        out = rng.random(n) < self.outliers
        y0 = np.where(out, rng.uniform(self.pop_mean + 4 * self.pop_sd,
                                       self.pop_mean + 20 * self.pop_sd, n), y0)
        t = (rng.random(n) < 0.5).astype(np.int8)
        if effect == "aa":
            y, ate = y0, 0.0
        elif effect == "het":
            y, ate = y0 + t * np.where(out, 0.0, ite), (1 - self.outliers) * self.mean_ite
        else:
            raise ValueError(f"effect: the paper DGP takes aa or het, got {effect!r}")
        proxy = None
        if self.proxy_sd is not None:
            proxy = base + self.proxy_sd * rng.standard_normal(n)
        return Draw(y=y, t=t, x=x, ate=ate, proxy=proxy)


@dataclass(frozen=True, eq=False)
class RatioDgp:
    """Orders / sessions per user. Sessions N = 1 + Poisson(3 e^{0.3x}); orders
    Y = Poisson(0.1 N e^{0.2x} (1 + lift T)). Ratio truth: lift * E[Y(0)] / E[N]."""

    name: str = "ratio"
    lift: float = 0.10

    def draw(self, n: int, rng: np.random.Generator, effect: str) -> Draw:
        x = rng.standard_normal(n)
        t = (rng.random(n) < 0.5).astype(np.int8)
        sessions = 1 + rng.poisson(3 * np.exp(0.3 * x))
        lift = 0.0 if effect == "aa" else self.lift
        orders = rng.poisson(0.1 * sessions * np.exp(0.2 * x) * (1 + lift * t))
        e_n = 3 * math.exp(0.045) + 1
        e_y = 0.1 * (3 * math.exp(0.125) + math.exp(0.02))
        return Draw(y=orders.astype(float), t=t, x=x[:, None], ate=lift * e_y / e_n,
                    denominator=sessions.astype(float))


@dataclass(frozen=True)
class CellSummary:
    """One (data, effect, method) cell of the protocol table."""

    dgp: str
    effect: str
    method: str
    sims: int
    n: int
    ate: float
    reject_rate: float  # the A/A false-positive rate when ate == 0, else power
    coverage: float
    bias: float
    sd: float
    se_calibration: float  # mean(se^2) / var(estimates)
    vr_empirical: float  # 1 - var(estimates) / var(DIM estimates), same data sets
    vr_mean: float  # mean of the per-run 1 - se^2/se_dim^2
    fallback_share: float

    @property
    def bias_sd(self) -> float:
        return self.bias / self.sd if self.sd > 0 else float("nan")


def run_cell(dgp: Any, effect: str, *, sims: int, n: int, predictor: str = "ridge",
             folds: int = 2, seed: int = 0, alpha: float = 0.05,
             methods: Sequence[str] = ("dim", "cuped", "lin", "cupac", "mlrate", "state"),
             raw_state: bool = True) -> list[CellSummary]:
    """``sims`` independent experiments of ``n`` units; every method sees the same data sets.

    The generator of replication r is ``default_rng([seed, r])``: fixed, independent streams.
    ``raw_state`` adds ``state_raw``, STATE without its guard, to show what the guard prevents.
    """
    names = [*methods, *(["state_raw"] if raw_state else [])]
    est = {m: np.empty(sims) for m in names}
    se = {m: np.empty(sims) for m in names}
    vr = {m: np.empty(sims) for m in names}
    fell = {m: np.zeros(sims, dtype=bool) for m in names}
    ate = 0.0
    for r in range(sims):
        rng = np.random.default_rng([seed, r])
        d = dgp.draw(n, rng, effect)
        ate = d.ate
        metric = d.y if d.denominator is None else linearise(d.y, d.denominator)
        pred = d.proxy
        if pred is None:
            pred = crossfit_predict(d.x, metric, predictor=predictor, folds=folds, seed=r)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StateGuardWarning)
            results = analyze(d.y, d.t, d.x, denominator=d.denominator, methods=methods,
                              prediction=pred, alpha=alpha)
        by = {res.method: res for res in results}
        if raw_state and "state" in by and "fallback" not in by["state"].detail:
            by["state_raw"] = by["state"]  # the guard passed: the same fit
        elif raw_state:
            raw = state_unguarded(metric, d.t, pred, alpha=alpha)
            if d.denominator is not None:
                raw = raw.with_(effect=by["dim"].effect + raw.effect - float(
                    metric[d.t == 1].mean() - metric[d.t == 0].mean()))
            by["state_raw"] = raw.with_(variance_reduction=1 - (raw.se / by["dim"].se) ** 2)
        for m in names:
            res = by[m]
            est[m][r], se[m][r] = res.effect, res.se
            vr[m][r] = res.variance_reduction if res.variance_reduction is not None else np.nan
            fell[m][r] = "fallback" in res.detail
    q = float(stats.norm.ppf(1 - alpha / 2))
    out = []
    var_dim = float(np.var(est["dim"], ddof=1)) if "dim" in est else float("nan")
    for m in names:
        e, s = est[m], se[m]
        with np.errstate(invalid="ignore"):
            covered = np.abs(e - ate) <= q * s
            rejected = np.abs(e) > q * s
        sd = float(np.std(e, ddof=1))
        out.append(CellSummary(
            dgp=getattr(dgp, "name", str(dgp)), effect=effect, method=m, sims=sims, n=n, ate=ate,
            reject_rate=float(np.mean(rejected)), coverage=float(np.mean(covered)),
            bias=float(np.mean(e) - ate), sd=sd,
            se_calibration=float(np.nanmean(s**2) / sd**2) if sd > 0 else float("nan"),
            vr_empirical=1 - sd**2 / var_dim, vr_mean=float(np.nanmean(vr[m])),
            fallback_share=float(np.mean(fell[m])),
        ))
    return out
