"""A marketing simulator with known potential outcomes: coupons, orders and their subsidy cost.

Why a simulator: on real RCTs a policy's value can only be *estimated* (IPW, papers.md §0.5);
here the true expected value and cost of every (user, arm) are known, so a policy's true value
at a true spend can be computed exactly and the estimators themselves can be checked.

The world (one period, per user i with features x_i):

* **Features** (F = 13 columns): ``x0 .. x9`` numeric (normal, uniform, exponential, binary; x8
  and x9 are pure noise, x9 correlated with x0), ``tenure`` numeric (skewed), ``history`` (the
  pre-period: mean daily orders over 28 days without a coupon, drawn like the outcome, the only
  proxy of the user scale s_i), ``city`` categorical with five levels.
* **Arms** (M = 5): coupons of face value d = 0 (control), 1, 2, 3, 5 per order.
* **Base demand** (expected orders without a coupon): ``mu_i = s_i * exp(f(x_i))`` with a
  heavy-tailed user scale ``s_i ~ lognormal(0, 0.8)`` (a few users order far more than the rest)
  and a non-linear f (a sine, an interaction, city effects).
* **Response** concave in the coupon: ``r_ij = mu_i * (1 + a_i * (1 - exp(-d_j / k_i)))`` with a
  maximal relative uplift ``a_i`` in (0, 0.6) (non-linear in x: an interaction, a threshold on
  ``tenure``, city sensitivities, and in ``scarce`` an unobserved latent factor) and a
  saturation scale ``k_i``.
* **Cost**: the coupon is redeemed on every order, so ``c_ij = d_j * r_ij``; the control costs
  nothing. Value is concave in cost per user (r rises concavely in d while c rises at least
  linearly), the shape papers.md §5.2 (diminishing marginal utility) assumes.
* **Observed outcomes**: the mean daily orders over ``horizon`` days, each day's orders
  negative binomial with mean r_{i,t_i} and dispersion ``nb_dispersion`` (variance m + m^2 / k,
  so the mean over H days has variance (m + m^2 / k) / H); the observed cost is d_{t_i} x the
  observed orders.
* **RCT**: arms randomised with known, unequal shares ``ARM_SHARES``; the manifest carries them as
  the propensity column.
* **Observational log** (papers.md §1.7, the Criteo-Hybrid idea): a targeting model (a linear
  T-learner, scikit-learn) is fit on a small RCT slice of ``targeting_rct`` users that is not part
  of any split; it then decides who gets what on fresh users: arm ~ (1 - eps) softmax(score / T)
  + eps / M with score = predicted (orders - lambda_log * cost) relative to the predicted control
  orders. Criteo-Hybrid kept only the RCT rows whose random arm matched the targeting policy,
  which makes the log deterministic given x (no overlap at all); sampling the policy directly
  keeps the confounding (the arm depends on x through a biased model) with known, bounded
  propensities. The log's manifest has no propensity column (logs rarely record it); the truth
  file holds the logging propensity of the received arm.

Settings are **frozen**: once published a setting's numbers never change (later work adds
settings). ``scarce``: a small RCT, heavy noise (one day, k = 1), and a latent factor in the
uplift that no feature carries, so no model class trained on the features can represent the
response exactly. ``plentiful``: a large RCT, low noise (28 days, k = 20: the per-user noise
sd is about that of the uplift), all heterogeneity observable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from formulations.errors import InstanceError, UsageError
from formulations.experiment_data import (
    ExperimentData,
    experiment_from_frame,
    write_experiment,
)

SETTINGS_VERSION = 1
ARMS: tuple[str, ...] = ("coupon_0", "coupon_1", "coupon_2", "coupon_3", "coupon_5")
FACE_VALUE = np.array([0.0, 1.0, 2.0, 3.0, 5.0])
ARM_SHARES = np.array([0.30, 0.10, 0.15, 0.20, 0.25])
FEATURES: tuple[str, ...] = (
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "tenure", "history", "city",
)
HISTORY_DAYS = 28
CITIES: tuple[str, ...] = ("north", "south", "east", "west", "centre")
SPLITS: tuple[str, ...] = ("train", "validation", "test")
TRUTH_FILE = "truth.parquet"
SIMULATION_FILE = "simulation.toml"


@dataclass(frozen=True)
class Setting:
    """A named, frozen simulator setting (see the module docstring)."""

    name: str
    description: str
    n_rct: int
    """default number of RCT users, split by ``fractions``"""
    fractions: tuple[float, float, float]
    """train, validation, test shares of the RCT users"""
    n_obs: int
    """default size of the observational log"""
    nb_dispersion: float
    latent_weight: float
    horizon: int
    """days observed; the outcome is the mean daily orders over them"""
    targeting_rct: int = 2_000
    logging_lambda: float = 0.08
    logging_temperature: float = 0.1
    logging_epsilon: float = 0.1


SETTINGS: Mapping[str, Setting] = {
    "scarce": Setting(
        name="scarce",
        description="small RCT (10,000 training users), heavy noise (negative binomial k = 1), "
                    "an unobserved latent factor in the uplift",
        n_rct=40_000, fractions=(0.25, 0.125, 0.625), n_obs=100_000,
        nb_dispersion=1.0, latent_weight=1.0, horizon=1,
    ),
    "plentiful": Setting(
        name="plentiful",
        description="large RCT (200,000 training users), low noise (mean daily orders over 28 "
                    "days, negative binomial k = 20), all heterogeneity observable",
        n_rct=400_000, fractions=(0.5, 0.125, 0.375), n_obs=100_000,
        nb_dispersion=20.0, latent_weight=0.0, horizon=28,
    ),
}


@dataclass(frozen=True, eq=False)
class Truth:
    """True expected value (orders) and cost of every (unit, arm) of one split, in row order."""

    unit_ids: np.ndarray
    value: np.ndarray
    """(N, M) expected orders"""
    cost: np.ndarray
    """(N, M) expected subsidy cost"""
    logging_propensity: np.ndarray | None = None
    """(N,) probability the logging policy gave the received arm (observational log only)"""

    @property
    def n_units(self) -> int:
        return int(self.unit_ids.shape[0])

    def incremental(self) -> tuple[np.ndarray, np.ndarray]:
        """(value, cost) minus the control arm's, the terms budgets are written in."""
        return self.value - self.value[:, :1], self.cost - self.cost[:, :1]


@dataclass(frozen=True, eq=False)
class Simulation:
    """The splits as ExperimentData and, separately, their truth."""

    setting: Setting
    seed: int
    data: Mapping[str, ExperimentData]
    truth: Mapping[str, Truth] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class _World:
    features: pd.DataFrame
    value: np.ndarray
    cost: np.ndarray


def get_setting(name: str) -> Setting:
    if name not in SETTINGS:
        raise UsageError(f"setting: unknown simulator setting {name!r}; expected one of "
                         f"{sorted(SETTINGS)}")
    return SETTINGS[name]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def _world(n: int, setting: Setting, rng: np.random.Generator) -> _World:
    """Draw n users: features and the true (value, cost) of every arm."""
    x = rng.standard_normal((n, 10))
    x[:, 3] = rng.random(n)
    x[:, 4] = rng.random(n)
    x[:, 5] = rng.exponential(1.0, n)
    x[:, 7] = (rng.random(n) < 0.3).astype(np.float64)
    x[:, 9] = 0.6 * x[:, 0] + 0.8 * x[:, 9]
    tenure = rng.gamma(2.0, 1.0, n)
    city = rng.integers(0, len(CITIES), n)
    latent = rng.standard_normal(n)
    scale = rng.lognormal(0.0, 0.8, n)

    city_base = np.array([0.2, -0.1, 0.0, -0.3, 0.35])[city]
    city_sens = np.array([0.4, -0.2, 0.0, 0.6, -0.5])[city]
    base = np.exp(-0.7 + 0.4 * x[:, 0] - 0.6 * x[:, 3] + 0.3 * np.sin(2.0 * x[:, 1])
                  + 0.3 * x[:, 7] + city_base)
    mu = scale * base
    z = (1.2 * x[:, 2] + 0.9 * x[:, 1] * x[:, 6] - 1.2 * (tenure > 3.0)
         + 0.8 * x[:, 7] - 0.4 * x[:, 5] + city_sens + setting.latent_weight * latent)
    uplift = 0.6 * _sigmoid(z)
    saturation = 1.5 * np.exp(0.5 * x[:, 4] - 0.3 * x[:, 0])
    shape = 1.0 - np.exp(-FACE_VALUE[None, :] / saturation[:, None])
    value = mu[:, None] * (1.0 + uplift[:, None] * shape)
    cost = FACE_VALUE[None, :] * value
    frame = pd.DataFrame({f"x{j}": x[:, j] for j in range(10)})
    frame["tenure"] = tenure
    # the pre-period: mean daily orders over 28 days without a coupon, the same noise model as
    # the outcome (every platform knows its users' past frequency; it is the only proxy of s_i)
    k = setting.nb_dispersion * HISTORY_DAYS
    m = mu * HISTORY_DAYS
    frame["history"] = rng.poisson(m * rng.gamma(k, 1.0 / k, n)) / HISTORY_DAYS
    frame["city"] = np.asarray(CITIES, dtype=object)[city]
    return _World(frame, value, cost)


def _observe(
    world: _World, arm: np.ndarray, setting: Setting, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Observed mean daily orders over the horizon (negative binomial around the true mean) and
    the realised cost (the coupon on every order)."""
    rows = np.arange(arm.shape[0])
    h = setting.horizon
    mean = world.value[rows, arm] * h
    k = setting.nb_dispersion * h
    # H independent days of NB(m, k) sum to NB(H m, H k); a gamma-Poisson mixture is the
    # negative binomial with mean m and variance m + m^2 / k
    total = rng.poisson(mean * rng.gamma(k, 1.0 / k, mean.shape[0])).astype(np.float64)
    orders = total / h
    return orders, FACE_VALUE[arm] * orders


def _frame(
    world: _World, ids: np.ndarray, arm: np.ndarray, orders: np.ndarray, cost: np.ndarray,
    propensity: np.ndarray | None,
) -> pd.DataFrame:
    df = world.features.copy()
    df.insert(0, "user", ids)
    df["arm"] = np.asarray(ARMS, dtype=object)[arm]
    df["orders"] = orders
    df["cost"] = cost
    if propensity is not None:
        df["p"] = propensity
    return df


def _manifest(setting: Setting, split: str, kind: str) -> dict[str, Any]:
    m: dict[str, Any] = {
        "name": f"sim_{setting.name}_{split}",
        "description": f"simulator setting {setting.name!r} (version {SETTINGS_VERSION}), "
                       f"split {split!r}: {setting.description}",
        "kind": kind, "treatment": "arm", "control": ARMS[0], "arms": list(ARMS),
        "outcome": "orders", "cost": "cost", "features": list(FEATURES), "unit": "user",
    }
    if kind == "rct":
        m["propensity"] = "p"
    return m


def _experiment(df: pd.DataFrame, manifest: Mapping[str, Any]) -> ExperimentData:
    return experiment_from_frame(
        df, treatment="arm", outcome="orders", control=ARMS[0], cost="cost",
        features=FEATURES, propensity=manifest.get("propensity"), kind=manifest["kind"],
        arms=ARMS, unit="user", name=manifest["name"], source=manifest["name"],
    )


def _targeting_policy(
    setting: Setting, rng: np.random.Generator
) -> Any:
    """Fit the logging policy's targeting model on a small RCT slice of its own (a linear
    T-learner of orders on the one-hot features); return a function features -> (N, M) probs."""
    from sklearn.linear_model import LinearRegression

    world = _world(setting.targeting_rct, setting, rng)
    arm = rng.choice(len(ARMS), size=setting.targeting_rct, p=ARM_SHARES)
    orders, _ = _observe(world, arm, setting, rng)
    columns = list(pd.get_dummies(world.features, dtype=np.float64).columns)

    def design(features: pd.DataFrame) -> np.ndarray:
        d = pd.get_dummies(features, dtype=np.float64).reindex(columns=columns, fill_value=0.0)
        return np.asarray(d.to_numpy(np.float64))

    X = design(world.features)
    models = [LinearRegression().fit(X[arm == j], orders[arm == j]) for j in range(len(ARMS))]

    def probabilities(features: pd.DataFrame) -> np.ndarray:
        Xn = design(features)
        pred = np.column_stack([mdl.predict(Xn) for mdl in models])
        base = np.maximum(pred[:, :1], 0.05)
        score = (pred - setting.logging_lambda * FACE_VALUE[None, :] * pred) / base
        z = score / setting.logging_temperature
        z -= z.max(axis=1, keepdims=True)
        soft = np.exp(z)
        soft /= soft.sum(axis=1, keepdims=True)
        eps = setting.logging_epsilon
        return np.asarray((1.0 - eps) * soft + eps / len(ARMS))

    return probabilities


def simulate(
    setting: str = "scarce",
    *,
    n_users: int | None = None,
    n_obs: int | None = None,
    seed: int = 0,
) -> Simulation:
    """Draw the RCT splits (train, validation, test) and the observational log ``obs``.

    ``n_users`` is the number of RCT users (split by the setting's fractions); ``n_obs`` the
    size of the log (0 for none). The same (setting, sizes, seed) always gives the same data.
    """
    s = get_setting(setting)
    n_rct = s.n_rct if n_users is None else int(n_users)
    n_log = s.n_obs if n_obs is None else int(n_obs)
    if n_rct < 30:
        raise UsageError(f"users: expected at least 30 RCT users, got {n_rct}")
    if n_log < 0:
        raise UsageError(f"obs: expected 0 or more observational users, got {n_log}")
    if not isinstance(seed, int) or seed < 0:
        raise UsageError(f"seed: expected a non-negative integer, got {seed!r}")
    rng_rct, rng_log, rng_target = (np.random.default_rng(x)
                                    for x in np.random.SeedSequence(seed).spawn(3))
    world = _world(n_rct, s, rng_rct)
    arm = rng_rct.choice(len(ARMS), size=n_rct, p=ARM_SHARES)
    orders, cost = _observe(world, arm, s, rng_rct)
    ids = np.arange(n_rct, dtype=np.int64)
    split_of = _split_labels(n_rct, s.fractions, rng_rct)
    data: dict[str, ExperimentData] = {}
    truth: dict[str, Truth] = {}
    df = _frame(world, ids, arm, orders, cost, ARM_SHARES[arm])
    for name in SPLITS:
        rows = np.flatnonzero(split_of == SPLITS.index(name))
        data[name] = _experiment(df.iloc[rows].reset_index(drop=True), _manifest(s, name, "rct"))
        truth[name] = Truth(ids[rows], world.value[rows], world.cost[rows])
    if n_log:
        policy = _targeting_policy(s, rng_target)
        lw = _world(n_log, s, rng_log)
        probs = policy(lw.features)
        u = rng_log.random(n_log)
        larm = np.minimum((probs.cumsum(axis=1) < u[:, None]).sum(axis=1), len(ARMS) - 1)
        lorders, lcost = _observe(lw, larm, s, rng_log)
        lids = np.arange(n_rct, n_rct + n_log, dtype=np.int64)
        ldf = _frame(lw, lids, larm, lorders, lcost, None)
        data["obs"] = _experiment(ldf, _manifest(s, "obs", "observational"))
        truth["obs"] = Truth(lids, lw.value, lw.cost, probs[np.arange(n_log), larm])
    return Simulation(setting=s, seed=seed, data=data, truth=truth)


def _split_labels(
    n: int, fractions: tuple[float, float, float], rng: np.random.Generator
) -> np.ndarray:
    """0/1/2 per user (train/validation/test) with exactly round(fraction * n) users each."""
    counts = np.floor(np.asarray(fractions) * n).astype(np.int64)
    counts[-1] = n - counts[:-1].sum()
    labels = np.repeat(np.arange(3), counts)
    rng.shuffle(labels)
    return labels


def write_simulation(
    sim: Simulation, out_dir: str | os.PathLike[str], *, table_format: str = "csv"
) -> Path:
    """Write every split as ``OUT/<split>/data.toml`` + table, the truth of all users in
    ``OUT/truth.parquet`` (no learner reads it) and ``OUT/simulation.toml``. Returns OUT."""
    import tomli_w

    from formulations.atomic_write import atomic_write_frame, atomic_write_text

    out = Path(out_dir)
    sizes: dict[str, int] = {}
    truth_frames = []
    for name, d in sim.data.items():
        df = d.features.copy()
        df.insert(0, "user", d.units)
        df["arm"] = np.asarray(d.arms, dtype=object)[d.arm]
        df["orders"] = d.outcome
        df["cost"] = d.cost
        kind = d.kind
        if kind == "rct" and d.propensity is not None:
            df["p"] = d.propensity
        write_experiment(df, out / name, _manifest(sim.setting, name, kind),
                         table_format=table_format, check=False)
        sizes[name] = d.n_units
        t = sim.truth[name]
        tf = pd.DataFrame({"user": t.unit_ids, "split": name})
        for j, a in enumerate(ARMS):
            tf[f"value:{a}"] = t.value[:, j]
        for j, a in enumerate(ARMS):
            tf[f"cost:{a}"] = t.cost[:, j]
        tf["logging_propensity"] = (np.nan if t.logging_propensity is None
                                    else t.logging_propensity)
        truth_frames.append(tf)
    atomic_write_frame(pd.concat(truth_frames, ignore_index=True), out / TRUTH_FILE)
    meta = {
        "setting": sim.setting.name, "settings_version": SETTINGS_VERSION, "seed": sim.seed,
        "description": sim.setting.description, "arms": list(ARMS),
        "face_values": FACE_VALUE.tolist(), "arm_shares": ARM_SHARES.tolist(),
        "sizes": sizes, "truth": TRUTH_FILE,
    }
    atomic_write_text(out / SIMULATION_FILE, tomli_w.dumps(meta))
    return out


def load_truth(path: str | os.PathLike[str], data: ExperimentData | Any) -> Truth:
    """The truth of ``data``'s units, in ``data``'s row order, from a simulator's truth file
    (or the folder holding it). ``data`` is ExperimentData or a FeatureTable with unit ids."""
    p = Path(path)
    if p.is_dir():
        p = p / TRUTH_FILE
    if not p.exists():
        raise InstanceError(str(p), "", "truth file not found (written by `treatalloc simulate`)")
    tf = pd.read_parquet(p)
    arms = [c.split(":", 1)[1] for c in tf.columns if c.startswith("value:")]
    units = np.asarray(data.units if isinstance(data, ExperimentData) else data.unit_ids)
    # ids read from a CSV manifest are text, the truth file stores integers: match as text
    index = pd.Index(tf["user"].astype(str).to_numpy())
    pos = index.get_indexer(pd.Index(units.astype(str)))
    if np.any(pos < 0):
        i = int(np.flatnonzero(pos < 0)[0])
        raise InstanceError(str(p), "user", f"unit {units[i]!r} of the data is not in the truth "
                            "file (another simulation?)")
    value = tf[[f"value:{a}" for a in arms]].to_numpy(np.float64)[pos]
    cost = tf[[f"cost:{a}" for a in arms]].to_numpy(np.float64)[pos]
    lp = tf["logging_propensity"].to_numpy(np.float64)[pos]
    return Truth(units, value, cost, None if np.all(np.isnan(lp)) else lp)
