"""K-cluster programs (HRC): clustering, solving a cluster program, choosing K by decision value.

.. note:: **Reconstruction [I]** (papers.md §2.2). HRC's paper text beyond the abstract is not
   public; this follows the reconstruction: standardise a representation (any feature matrix,
   or a learner's hidden layer), K-means it, estimate per (cluster, arm) means on randomised
   data (evaluation.cluster_cells), solve the integer program over counts n_kj (here), and
   choose K by the plan's value on held-out randomised data (evaluation.cluster_selection),
   not by inertia.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from engine.options import Options
from engine.result import Status
from engine.stochastic.milp import solve_program
from engine.stochastic.plans import PerScenarioPlan, per_scenario, solve_at, within
from formulations.cluster_program import ClusterProgram
from formulations.errors import UsageError
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
