"""Choosing the number of clusters K by decision value on held-out randomised data.

.. note:: **Reconstruction [I]** (papers.md §2.2, HRC step 4): for each K, K-means on the
   training data (engine.clusters.fit_clusters), the cluster program estimated from it
   (evaluation.cluster_cells), its plan at each budget (engine.clusters.solve_cluster_program),
   scored on the held-out data as a randomised policy by the policy value of evaluation.policy
   (EOM); not by inertia.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.clusters import Clustering, fit_clusters, solve_cluster_program
from evaluation.cluster_cells import cluster_program_from_data
from formulations.cluster_program import ClusterProgram
from formulations.errors import UsageError
from formulations.experiment_data import ExperimentData

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
    policy_value: PolicyValueFn | None = None,
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
    the held-out spend is reported beside it. Larger value wins; ties go to the smaller K. A K
    where any budget found no plan (value NaN) is never chosen; where no K has a plan, the
    selection is a UsageError. ``policy_value`` defaults to evaluation.policy.policy_value.
    ``features_*`` override the data's feature matrices (e.g. a learner's representation).
    ``n_boot`` > 0 adds bootstrap intervals (value_lo, value_hi) for the held-out value: where
    they overlap across K, the choice is within noise.
    """
    if policy_value is None:
        from evaluation.policy import policy_value as default_value

        policy_value = default_value
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
    best = best_of(table)
    return KSelection(best_k=best, table=table, programs=programs, clusterings=clusterings)


def best_of(table: pd.DataFrame) -> int:
    """The K of largest mean held-out value over the budgets, ties to the smaller K; a K with a
    failed budget (NaN value) is out: np.argmax would pick a NaN as the largest."""
    scores = table.groupby("k")["value"].agg(
        lambda v: float(v.mean()) if bool(v.notna().all()) else math.nan)
    ks, vals = scores.index.to_numpy(), scores.to_numpy(dtype=float)
    ok = np.isfinite(vals)
    if not ok.any():
        raise UsageError("select_k: no K gave a plan at every budget; see the table's status "
                         "column (widen the budgets or lower min_samples)")
    top = np.flatnonzero(ok & (vals == np.max(vals[ok])))
    return int(ks[int(top[0])])


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
