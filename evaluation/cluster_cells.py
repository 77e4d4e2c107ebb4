"""Cluster cells estimated from randomised data: per (cluster, arm) means and standard errors.

.. note:: **Reconstruction [I]** (papers.md §2.2, HRC step 3). The estimate of a cluster
   program's cells from an RCT: the cell means of outcome and cost (weighted by 1 / propensity
   where the design is not uniform), their standard errors under the same weights, small cells
   merged, optional stratified bootstrap replicates. Moved here from formulations: it is an
   estimator on experiment data, and ``formulations`` holds programs as data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from formulations.cluster_program import ClusterProgram
from formulations.errors import UsageError
from formulations.experiment_data import ExperimentData
from formulations.instance import Budget, Scenario


def merge_small_cells(
    labels: np.ndarray, arm: np.ndarray, n_arms: int, min_samples: int,
    *, outcome: np.ndarray, centroids: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[int, int]]:
    """Merge clusters whose (cluster, arm) cells have fewer than ``min_samples`` units.

    Rule [I]: repeatedly take the deficient cluster with the fewest samples in its smallest cell
    and merge it into the nearest other cluster: nearest by centroid distance where centroids
    are given (``centroids[i]`` for cluster id i, e.g. K-means centres; a merged cluster's centre
    is the size-weighted mean of its parts), else by the distance between the clusters' vectors
    of per-arm mean outcomes. Stops when every cell has enough samples or one cluster is left.
    Returns the new labels (surviving cluster ids) and the map merged id -> final survivor.
    """
    lab = np.asarray(labels).copy()
    merged: dict[int, int] = {}
    cen: dict[int, np.ndarray] = {}
    if centroids is not None:
        c = np.asarray(centroids, dtype=np.float64)
        if c.ndim != 2 or c.shape[0] <= int(lab.max()):
            raise UsageError(f"centroids: expected one row per cluster id 0..{int(lab.max())}, "
                             f"got shape {c.shape}")
        cen = {int(i): c[int(i)] for i in np.unique(lab)}
    while True:
        ids = np.unique(lab)
        if ids.size <= 1:
            break
        pos = np.searchsorted(ids, lab)
        counts = np.zeros((ids.size, n_arms), dtype=np.int64)
        np.add.at(counts, (pos, arm), 1)
        low = counts.min(axis=1)
        if low.min() >= min_samples:
            break
        victim = int(np.lexsort((counts.sum(axis=1), low))[0])
        if cen:
            points = np.stack([cen[int(i)] for i in ids])
        else:
            sums = np.zeros((ids.size, n_arms))
            np.add.at(sums, (pos, arm), outcome)
            points = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        d = np.linalg.norm(points - points[victim], axis=1)
        d[victim] = np.inf
        target = int(np.argmin(d))
        a, b = int(ids[victim]), int(ids[target])
        if cen:
            na, nb = counts[victim].sum(), counts[target].sum()
            cen[b] = (na * cen[a] + nb * cen[b]) / max(na + nb, 1)
            del cen[a]
        lab[lab == a] = b
        merged[a] = b
        for key, v in list(merged.items()):
            if v == a:
                merged[key] = b
    return lab, merged


def cluster_program_from_data(
    data: ExperimentData,
    labels: np.ndarray,
    *,
    budget: str = "cost",
    limit: float | None = None,
    scenarios: Sequence[Scenario] = (),
    min_samples: int = 30,
    n_replicates: int = 0,
    population: int | None = None,
    centroids: np.ndarray | None = None,
    seed: int = 0,
    name: str | None = None,
) -> ClusterProgram:
    """Per (cluster, arm) means of outcome and cost with standard errors, small cells merged.

    .. note:: Reconstruction [I] of HRC step 3 (papers.md §2.2): group means from RCT data
       replace noisy individual predictions. Means are plain cell means, which is unbiased for
       the arm's mean outcome in the cluster because arms are randomised; with a propensity
       column (non-uniform designs) the means are weighted by 1 / propensity, and the standard
       errors and bootstrap replicates are those of the same weighted means.

    ``labels`` (N,) integer cluster of each unit. ``limit`` is the total budget for the cluster
    sizes (default: half of what treating everyone with the most expensive arm would cost).
    ``population`` rescales the sizes to that many units in total (largest-remainder rounding).
    ``n_replicates`` stratified bootstrap replicates of the cell means (resampling units within
    each cell) are stored as replicates 1..R.
    """
    lab = np.asarray(labels)
    if lab.shape != (data.n_units,):
        raise UsageError(f"labels: expected {data.n_units} entries (one per unit), got {lab.shape}")
    if lab.dtype.kind not in "iu":
        raise UsageError(f"labels: expected integer cluster ids, got dtype {lab.dtype}")
    if min_samples < 1:
        raise UsageError(f"min_samples: expected >= 1, got {min_samples}")
    m = len(data.arms)
    lab, merged = merge_small_cells(lab, data.arm, m, min_samples, outcome=data.outcome,
                                    centroids=centroids)
    ids = np.unique(lab)
    k = ids.size
    pos = np.searchsorted(ids, lab)
    cell = pos * m + data.arm
    w = 1.0 / data.design_propensity("cluster cell means")
    w = w / w.mean()
    counts = np.bincount(cell, minlength=k * m).reshape(k, m)
    valid = counts >= min_samples
    if not np.all(valid[:, 0]):
        raise UsageError(
            f"the control arm {data.control!r} has fewer than {min_samples} units in a cluster "
            "even after merging; lower min_samples or use fewer clusters"
        )

    def means(y: np.ndarray, weights: np.ndarray, cells: np.ndarray = cell) -> np.ndarray:
        sw = np.bincount(cells, weights=weights, minlength=k * m)
        sy = np.bincount(cells, weights=weights * y, minlength=k * m)
        return np.divide(sy, sw, out=np.zeros_like(sy), where=sw > 0).reshape(k, m)

    def ses(y: np.ndarray) -> np.ndarray:
        # the standard error of the same weighted mean: sum w^2 (y - mu)^2 / (sum w)^2, with
        # the n / (n - 1) correction; with equal weights it is s / sqrt(n)
        mu = means(y, w).reshape(-1)[cell]
        sw = np.bincount(cell, weights=w, minlength=k * m).reshape(k, m)
        ss = np.bincount(cell, weights=w**2 * (y - mu) ** 2, minlength=k * m).reshape(k, m)
        var = np.divide(ss, sw**2, out=np.zeros_like(ss), where=sw > 0)
        var *= np.divide(counts, counts - 1, out=np.zeros(var.shape), where=counts > 1)
        return np.asarray(np.sqrt(var))

    reps = [(means(data.outcome, w), means(data.cost, w))]
    if n_replicates:
        rng = np.random.default_rng(seed)
        order = np.argsort(cell, kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts.reshape(-1))])[:-1]
        cell_sorted = cell[order]
        n_cell = counts.reshape(-1)[cell_sorted]
        for _ in range(n_replicates):
            draw = starts[cell_sorted] + np.floor(rng.random(order.size) * n_cell).astype(np.int64)
            pick = order[draw]
            reps.append((means(data.outcome[pick], w[pick], cell_sorted),
                         means(data.cost[pick], w[pick], cell_sorted)))
    sizes = np.bincount(pos, minlength=k)
    if population is not None:
        if population < 1:
            raise UsageError(f"population: expected >= 1, got {population}")
        exact = sizes / sizes.sum() * population
        sizes = np.floor(exact).astype(np.int64)
        short = population - int(sizes.sum())
        sizes[np.argsort(-(exact - sizes), kind="stable")[:short]] += 1
    value = np.stack([r[0] for r in reps])
    costs = np.stack([r[1] for r in reps])[:, None]
    if limit is None:
        limit = 0.5 * float((np.where(valid, costs[0, 0], 0).max(axis=1) * sizes).sum())
    clusters = tuple(str(int(i)) for i in ids)
    return ClusterProgram(
        name=name or f"{data.name}_k{k}",
        clusters=clusters, options=data.arms, sizes=sizes.astype(np.int64),
        value=np.where(valid, value, 0.0), costs=np.where(valid, costs, 0.0), valid=valid,
        budgets=(Budget(budget, float(limit), budget),), scenarios=tuple(scenarios),
        value_se=np.where(valid, ses(data.outcome), np.nan),
        cost_se=np.where(valid, ses(data.cost), np.nan)[None],
        samples=counts, merged={str(a): str(b) for a, b in merged.items()},
        description=f"clusters of {data.name}: {k} clusters, min {min_samples} samples per cell"
        + (f", {n_replicates} bootstrap replicates" if n_replicates else ""),
    )
