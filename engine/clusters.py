"""K-cluster programs (HRC): clustering, solving a cluster program, choosing K by decision value.

.. note:: **Reconstruction [I]** (papers.md §2.2). HRC's paper text beyond the abstract is not
   public; this follows the reconstruction: standardise a representation (any feature matrix,
   or a learner's hidden layer), K-means it, estimate per (cluster, arm) means on randomised
   data, solve the integer program over counts n_kj, and choose K by the plan's value on
   held-out randomised data (EOM, ``evaluation.policy``), not by inertia.

``engine`` may not import ``evaluation`` (dependency order), so ``select_k`` takes the policy
value function as an argument; pass ``evaluation.policy.policy_value``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from engine.options import Options
from engine.result import Status
from engine.stochastic.milp import solve_program
from engine.stochastic.plans import PerScenarioPlan, per_scenario, solve_at, within
from formulations.cluster_program import ClusterProgram, cluster_program_from_data
from formulations.errors import UsageError
from formulations.experiment_data import ExperimentData
from formulations.stochastic_problem import ScenarioSet, scenario_set
from formulations.stochastic_programs import PROB_SLACK, chance_program, plan_spend

RESPONSES = ("point", "saa")
#: the exact solvers of a cluster program's count programs
CLUSTER_SOLVERS = ("highs", "ortools")


@dataclass(frozen=True)
class ClusterOptions(Options):
    """Options of a cluster program's solve through ``engine.solve``: ``response`` ("point":
    the point estimates; "saa": the bootstrap replicates) and ``alpha`` (saa: the weight of
    replicates whose budget may break)."""

    response: Literal["point", "saa"] = "point"
    alpha: float = 0.0


# --- clustering ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Clustering:
    """A fitted K-means on standardised features; ``predict`` labels new rows."""

    k: int
    mean: np.ndarray
    scale: np.ndarray
    model: Any
    labels: np.ndarray

    @property
    def centroids(self) -> np.ndarray:
        return np.asarray(self.model.cluster_centers_)

    def predict(self, X: np.ndarray) -> np.ndarray:
        Z = (np.asarray(X, dtype=np.float64) - self.mean) / self.scale
        return np.asarray(self.model.predict(Z), dtype=np.int64)


def fit_clusters(
    X: np.ndarray, k: int, *, seed: int = 0, minibatch: bool | None = None, n_init: int = 3
) -> Clustering:
    """K-means (scikit-learn) on standardised columns; MiniBatchKMeans above 50,000 rows."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    A = np.asarray(X, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] < k:
        raise UsageError(f"X: expected a 2-D matrix with at least k={k} rows, got {A.shape}")
    if not np.all(np.isfinite(A)):
        raise UsageError("X: expected finite feature values")
    if k < 1:
        raise UsageError(f"k: expected >= 1, got {k}")
    mean = A.mean(axis=0)
    scale = A.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    Z = (A - mean) / scale
    use_mb = A.shape[0] > 50_000 if minibatch is None else minibatch
    model: Any
    if use_mb:
        model = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=n_init, batch_size=4096)
    else:
        model = KMeans(n_clusters=k, random_state=seed, n_init=n_init)
    labels = model.fit_predict(Z)
    return Clustering(k=k, mean=mean, scale=scale, model=model,
                      labels=np.asarray(labels, dtype=np.int64))


# --- solving a cluster program at one budget ----------------------------------------------------


@dataclass(frozen=True, eq=False)
class ClusterPlan:
    """The plan of a cluster program at one budget: counts n_kj and shares n_kj / N_k."""

    status: Status
    solver: str
    objective: float | None
    bound: float | None
    counts: np.ndarray | None
    limits: dict[str, float]
    spend: dict[str, float]
    lam: dict[str, float]
    mix: dict[str, float]
    seconds: float
    response: str
    detail: dict[str, Any] = field(default_factory=dict)
    clusters: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.bound is None:
            return None
        return (self.bound - self.objective) / max(1.0, abs(self.bound))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the keys of SolveResult.to_dict where they apply)."""
        def num(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else float(x)

        return {"status": self.status, "objective": num(self.objective),
                "bound": num(self.bound), "gap": num(self.gap),
                "seconds": round(self.seconds, 6), "solver": self.solver,
                "usage": self.spend, "limits": self.limits, "multipliers": self.lam,
                "mix": self.mix, "response": self.response,
                "message": str(self.detail.get("message", ""))}

    def shares(self) -> pd.DataFrame:
        """cluster, option, count, share (of the cluster's units): the deployable table."""
        if self.counts is None:
            return pd.DataFrame(columns=["cluster", "option", "count", "share"])
        k, m = self.counts.shape
        size = self.counts.sum(axis=1, keepdims=True)
        share = np.divide(self.counts, size, out=np.zeros(self.counts.shape), where=size > 0)
        return pd.DataFrame({
            "cluster": np.repeat(np.asarray(self.clusters, dtype=object), m),
            "option": np.tile(np.asarray(self.options, dtype=object), k),
            "count": self.counts.reshape(-1).astype(np.int64),
            "share": share.reshape(-1),
        })


def solve_cluster_program(
    program: ClusterProgram,
    limits: Mapping[str, float] | Sequence[float] | float | None = None,
    *,
    solver: str = "highs",
    response: str = "point",
    alpha: float = 0.0,
    time_limit: float | None = None,
) -> ClusterPlan:
    """Solve a cluster program at one budget (default: the manifest's limits).

    ``response="point"``: the integer program on the point estimates (replicate 0), with lambda
    from the LP relaxation. ``response="saa"``: sample-average approximation over the bootstrap
    replicates: maximise the mean value over replicates with the budget holding in replicates of
    total weight >= 1 - alpha (alpha = 0: in every replicate); lambda is not defined there.
    """
    if response not in RESPONSES:
        raise UsageError(f"response: expected one of {list(RESPONSES)}, got {response!r}")
    problem = program.problem()
    if limits is None:
        lim = program.limits
    elif isinstance(limits, Mapping):
        lim = program.with_limits(limits).limits
    else:
        lim = np.atleast_1d(np.asarray(limits, dtype=np.float64))
        if lim.shape != (len(program.budgets),):
            raise UsageError(f"limits: expected {len(program.budgets)} value(s), got {lim.size}")
    names = program.budget_names
    base: dict[str, Any] = {"clusters": program.clusters, "options": program.options}
    if response == "point":
        plan = solve_at(problem, lim, solver=solver, time_limit=time_limit)
        return ClusterPlan(
            status=plan.status, solver=plan.solver, objective=plan.objective, bound=plan.bound,
            counts=plan.counts, limits=dict(zip(names, map(float, lim), strict=True)),
            spend={} if plan.spend is None else dict(zip(names, map(float, plan.spend),
                                                         strict=True)),
            lam={} if plan.lam is None else dict(zip(names, map(float, plan.lam), strict=True)),
            mix=plan.mix(program.options), seconds=plan.seconds, response=response, **base,
        )
    r = program.n_replicates
    if r < 1:
        raise UsageError(f"response 'saa': cluster program {program.name!r} has no bootstrap "
                         "replicates (write it with n_replicates > 0)")
    t0 = time.perf_counter()
    sc = scenario_set(np.full(r, 1.0 / r), np.repeat(lim[None], r, axis=0), np.arange(1, r + 1))
    prog = chance_program(problem, sc, alpha)
    sol = solve_program(prog, solver, time_limit=time_limit)
    counts = None if sol.x is None else prog.block(sol.x, "n")
    status: Status = sol.status
    spend: dict[str, float] = {}
    detail: dict[str, Any] = {"replicates": r, "alpha": alpha}
    mix: dict[str, float] = {}
    if counts is not None:
        sp = plan_spend(problem, counts, sc)
        spend = dict(zip(names, map(float, sp.mean(axis=0)), strict=True))
        met = float(sc.probability[np.all(within(sp, sc.limits), 1)].sum())
        detail["probability_met"] = met
        if met < 1.0 - alpha - PROB_SLACK and status in ("optimal", "feasible", "time_limit"):
            detail["message"] = (f"the plan meets the budgets in replicates of weight {met:.6g} "
                                 f"< 1 - alpha = {1.0 - alpha:.6g}")
            status = "error"
        tot = counts.sum(axis=0) / max(counts.sum(), 1)
        mix = {str(o): float(v) for o, v in zip(program.options, tot, strict=True)}
    return ClusterPlan(
        status=status, solver=sol.solver, objective=sol.objective, bound=sol.bound,
        counts=counts, limits=dict(zip(names, map(float, lim), strict=True)), spend=spend,
        lam={}, mix=mix, seconds=time.perf_counter() - t0, response=response, detail=detail,
        **base,
    )


def deployable_table(program: ClusterProgram, plan: PerScenarioPlan) -> pd.DataFrame:
    """cluster x budget -> treatment shares, one row per (scenario, cluster, option)."""
    df = plan.allocation_table(program.clusters).rename(columns={"group": "cluster"})
    df.insert(1, "probability", plan.scenarios.probability[df["scenario"].to_numpy()])
    return df


def per_budget_plans(
    program: ClusterProgram, scenarios: ScenarioSet | None = None, *, solver: str = "highs",
    time_limit: float | None = None,
) -> PerScenarioPlan:
    """The per-scenario plans of a cluster program (its own budget scenarios by default)."""
    problem = program.problem()
    sc = program.scenario_set() if scenarios is None else scenarios
    return per_scenario(problem, sc, solver=solver, time_limit=time_limit)


# --- choosing K by decision value ---------------------------------------------------------------


PolicyValueFn = Callable[..., Any]


@dataclass(frozen=True, eq=False)
class KSelection:
    """Held-out decision value of the cluster plan for every K and budget; the chosen K."""

    best_k: int
    table: pd.DataFrame
    programs: dict[int, ClusterProgram]
    clusterings: dict[int, Clustering]


def select_k(
    train: ExperimentData,
    holdout: ExperimentData,
    ks: Sequence[int],
    budgets_per_capita: Sequence[float],
    *,
    policy_value: PolicyValueFn,
    budget: str = "cost",
    min_samples: int = 30,
    seed: int = 0,
    solver: str = "highs",
    features_train: np.ndarray | None = None,
    features_holdout: np.ndarray | None = None,
    n_boot: int = 0,
) -> KSelection:
    """Fit K-means for each K on ``train``, plan at each per-capita budget, score on ``holdout``.

    The score of K is the mean over budgets of the held-out per-capita value (``policy_value``
    with the plan's shares as a randomised policy: π(arm | unit) = n_kj / N_k of its cluster);
    the held-out spend is reported beside it. Larger value wins; ties go to the smaller K.
    ``features_*`` override the data's feature matrices (e.g. a learner's representation).
    ``n_boot`` > 0 adds bootstrap intervals (value_lo, value_hi) for the held-out value: where
    they overlap across K, the choice is within noise.
    """
    if train.arms != holdout.arms:
        raise UsageError(f"train/holdout: different arms {train.arms} vs {holdout.arms}")
    if not ks:
        raise UsageError("ks: expected at least one K")
    Xtr = train.feature_matrix() if features_train is None else features_train
    Xho = holdout.feature_matrix() if features_holdout is None else features_holdout
    rows: list[dict[str, Any]] = []
    programs: dict[int, ClusterProgram] = {}
    clusterings: dict[int, Clustering] = {}
    for k in ks:
        cl = fit_clusters(Xtr, k, seed=seed)
        prog = cluster_program_from_data(train, cl.labels, budget=budget,
                                         min_samples=min_samples)
        programs[k], clusterings[k] = prog, cl
        for b in budgets_per_capita:
            limit = float(b) * train.n_units
            plan = solve_cluster_program(prog, [limit], solver=solver)
            row: dict[str, Any] = {"k": k, "clusters": prog.n_clusters,
                                   "merged": len(prog.merged), "budget_per_capita": float(b),
                                   "status": plan.status}
            if plan.counts is None:
                row.update(value=math.nan, spend=math.nan)
            else:
                pp = holdout_policy_prob(plan.counts, prog, cl, holdout, Xho)
                pv = policy_value(holdout.arm, holdout.outcome, policy_prob=pp,
                                  cost=holdout.cost,
                                  propensity=holdout.design_propensity("select_k"),
                                  n_boot=n_boot, seed=seed)
                ci = pv.value_ci or (math.nan, math.nan)
                row.update(value=float(pv.value), value_lo=ci[0], value_hi=ci[1],
                           spend=float(pv.spend),
                           train_value_per_capita=float(plan.objective or 0) / train.n_units)
            rows.append(row)
    table = pd.DataFrame(rows)
    score = table.groupby("k")["value"].mean()
    best = int(score.index.to_numpy()[int(np.argmax(score.to_numpy()))])
    return KSelection(best_k=best, table=table, programs=programs, clusterings=clusterings)


def holdout_policy_prob(
    counts: np.ndarray, program: ClusterProgram, clustering: Clustering,
    holdout: ExperimentData, X: np.ndarray | None = None,
) -> np.ndarray:
    """π(received arm | unit) of a cluster plan for held-out units: the share n_kj / N_k of the
    unit's cluster (K-means label, followed through the program's merges)."""
    raw = clustering.predict(holdout.feature_matrix() if X is None else X)
    merged = {int(a): int(b) for a, b in program.merged.items()}
    index = {int(c): i for i, c in enumerate(program.clusters)}
    pos = np.array([index[merged.get(int(c), int(c))] for c in range(clustering.k)])[raw]
    size = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, size, out=np.zeros(counts.shape), where=size > 0)
    return np.asarray(shares[pos, holdout.arm], dtype=np.float64)
