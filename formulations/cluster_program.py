"""K-cluster programs (HRC, papers.md §2): per (cluster, option) response estimates as a file.

.. note:: **Reconstruction [I].** The HRC paper's text is not public beyond its abstract; the
   estimates, small-cell merging and bootstrap replicates here follow the reconstruction in
   papers.md §2.2, not the paper's own algorithm.

A cluster program file is a TOML manifest with ``kind = "clusters"`` plus one table with one row
per (cluster, option) (ARCHITECTURE.md, "Instance file format"):

``cluster, option, size, value, <budget column>...`` and optionally ``value_se``,
``<budget column>_se``, ``samples`` (randomised units behind the cell) and ``replicate``.
``size`` is the number of units of the cluster to allocate (constant within a cluster);
``value`` and the budget columns are means per unit. Replicate 0 is the point estimate; rows
with ``replicate`` 1..R are bootstrap replicates of the same cells (sample-average
approximation of response uncertainty). A (cluster, option) pair with no row is not offered.

Manifest keys: ``name``, ``description``, ``kind``, ``table``, ``[[budgets]]`` and
``[[scenarios]]`` / ``distribution`` exactly as for instances, and ``merged`` (a table
``{cluster = "cluster it was merged into"}``, written by
``evaluation.cluster_cells.cluster_program_from_data``).

``value`` is the mean *outcome* of the option in the cluster, not the uplift over control: with
sum_j n_kj = N_k the two differ by a constant, so plans are the same.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from formulations.atomic_write import atomic_write_frame, atomic_write_text
from formulations.errors import InstanceError, UsageError
from formulations.instance import Budget, Scenario
from formulations.instance_file import (
    _numeric_column,
    _parse_budgets,
    _parse_scenarios,
    manifest_path,
    read_manifest,
    read_table,
)
from formulations.stochastic_problem import (
    GroupedProblem,
    ScenarioSet,
    budget_scenarios,
    cross_replicates,
    grouped_problem,
)

KEYS = {"name", "description", "kind", "table", "budgets", "scenarios", "merged"}


@dataclass(frozen=True, eq=False)
class ClusterProgram:
    """Cluster x option response estimates, cluster sizes, budgets and budget scenarios.

    Arrays: ``value`` (R, K, M), ``costs`` (R, B, K, M) with replicate 0 the point estimate;
    ``valid`` (K, M); ``value_se`` (K, M), ``cost_se`` (B, K, M) and ``samples`` (K, M) where
    known (NaN / -1 otherwise).
    """

    name: str
    clusters: tuple[str, ...]
    options: tuple[str, ...]
    sizes: np.ndarray
    value: np.ndarray
    costs: np.ndarray
    valid: np.ndarray
    budgets: tuple[Budget, ...]
    scenarios: tuple[Scenario, ...] = ()
    value_se: np.ndarray | None = None
    cost_se: np.ndarray | None = None
    samples: np.ndarray | None = None
    merged: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def n_clusters(self) -> int:
        return len(self.clusters)

    @property
    def n_replicates(self) -> int:
        """Bootstrap replicates beyond the point estimate."""
        return int(self.value.shape[0]) - 1

    @property
    def budget_names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.budgets)

    @property
    def limits(self) -> np.ndarray:
        return np.array([b.limit for b in self.budgets], dtype=np.float64)

    def problem(self) -> GroupedProblem:
        """The grouped problem (clusters = groups) with every replicate."""
        return grouped_problem(
            self.value, self.costs, self.sizes, self.limits, name=self.name,
            budget_names=self.budget_names, option_labels=self.options,
            group_ids=np.asarray(self.clusters, dtype=object), valid=self.valid,
        )

    def scenario_set(self, *, replicates: bool = False) -> ScenarioSet:
        """The budget scenarios (or the base limits as one scenario); with ``replicates`` each is
        crossed with the bootstrap replicates 1..R (sample-average approximation)."""
        base = budget_scenarios(
            self.limits, self.budget_names,
            self.scenarios or (Scenario(1.0, {}),),
        )
        if not replicates:
            return base
        if self.n_replicates < 1:
            raise UsageError(f"cluster program {self.name!r} has no bootstrap replicates")
        return cross_replicates(base, self.n_replicates, first=1)

    def scaled(
        self,
        cost_scale: Mapping[str, float] | None = None,
        value_scale: Mapping[str, float] | None = None,
    ) -> ClusterProgram:
        """Multiply the costs (every budget) and/or the value of named options by a factor."""
        def factors(scale: Mapping[str, float] | None, what: str) -> np.ndarray:
            f = np.ones(len(self.options))
            for opt, v in (scale or {}).items():
                if opt not in self.options:
                    raise UsageError(f"{what}: unknown option {opt!r}; expected one of "
                                     f"{list(self.options)}")
                if not np.isfinite(v) or v < 0:
                    raise UsageError(f"{what}: expected a finite factor >= 0 for {opt!r}, got {v}")
                f[self.options.index(opt)] = float(v)
            return f

        fc, fv = factors(cost_scale, "cost_scale"), factors(value_scale, "value_scale")
        return replace(
            self, value=self.value * fv, costs=self.costs * fc,
            value_se=None if self.value_se is None else self.value_se * fv,
            cost_se=None if self.cost_se is None else self.cost_se * fc,
        )

    def with_limits(self, limits: Mapping[str, float]) -> ClusterProgram:
        unknown = set(limits) - set(self.budget_names)
        if unknown:
            raise UsageError(f"limits: unknown budget(s) {sorted(unknown)}; expected "
                             f"{list(self.budget_names)}")
        return replace(self, budgets=tuple(
            replace(b, limit=float(limits.get(b.name, b.limit))) for b in self.budgets
        ))

    def table(self) -> pd.DataFrame:
        """The long table written to disk (one row per replicate, cluster and valid option)."""
        k_idx, j_idx = np.nonzero(self.valid)
        frames = []
        for r in range(self.value.shape[0]):
            d: dict[str, Any] = {}
            if self.n_replicates:
                d["replicate"] = r
            d["cluster"] = np.asarray(self.clusters, dtype=object)[k_idx]
            d["option"] = np.asarray(self.options, dtype=object)[j_idx]
            d["size"] = self.sizes[k_idx]
            d["value"] = self.value[r, k_idx, j_idx]
            for b, bud in enumerate(self.budgets):
                d[bud.column or bud.name] = self.costs[r, b, k_idx, j_idx]
            if self.value_se is not None:
                d["value_se"] = self.value_se[k_idx, j_idx]
            if self.cost_se is not None:
                for b, bud in enumerate(self.budgets):
                    d[f"{bud.column or bud.name}_se"] = self.cost_se[b, k_idx, j_idx]
            if self.samples is not None:
                d["samples"] = self.samples[k_idx, j_idx]
            frames.append(pd.DataFrame(d))
        return pd.concat(frames, ignore_index=True)


# --- file I/O ----------------------------------------------------------------------------------


def load_cluster_program(path: str | os.PathLike[str]) -> ClusterProgram:
    """Load a cluster program from its TOML manifest (or a folder holding ``clusters.toml``)."""
    p = manifest_path(path, "clusters.toml")
    src = str(p)
    m = read_manifest(p)
    unknown = sorted(set(m) - KEYS)
    if unknown:
        raise InstanceError(src, unknown[0], f"unknown key; expected one of {sorted(KEYS)}")
    if m.get("kind") != "clusters":
        raise InstanceError(src, "kind", f"expected 'clusters' for a cluster program, got "
                            f"{m.get('kind')!r}")
    table = m.get("table")
    if not isinstance(table, str) or not table:
        raise InstanceError(src, "table", f"expected a non-empty string, got {table!r}")
    budgets, dists = _parse_budgets(src, m.get("budgets", []))
    if not budgets:
        raise InstanceError(src, "budgets", "expected at least one [[budgets]] entry")
    scenarios = _parse_scenarios(src, m.get("scenarios"), budgets, dists)
    merged = m.get("merged", {})
    if not isinstance(merged, dict):
        raise InstanceError(src, "merged", "expected a table {cluster = cluster merged into}")
    tpath = p.parent / table
    df = read_table(tpath, src)
    tsrc = str(tpath)
    if len(df) == 0:
        raise InstanceError(tsrc, "", "the table is empty: expected one row per (cluster, option)")
    cols = ["cluster", "option", "size", "value", *[b.column for b in budgets]]
    for c in cols:
        if c not in df.columns:
            raise InstanceError(tsrc, f"column {c!r}",
                                f"missing; the table has columns {list(map(str, df.columns))}")
    for c in ("cluster", "option"):
        if df[c].isna().any():
            i = int(np.flatnonzero(df[c].isna().to_numpy())[0])
            raise InstanceError(tsrc, f"row {i + 1}, column {c!r}", "empty id")
    rep = (_numeric_column(df, "replicate", tsrc) if "replicate" in df.columns
           else np.zeros(len(df)))
    if np.any(rep < 0) or np.any(rep != np.round(rep)):
        raise InstanceError(tsrc, "column 'replicate'", "expected integers >= 0")
    rep = rep.astype(np.int64)
    size = _numeric_column(df, "size", tsrc)
    bad = np.flatnonzero((size < 0) | (size != np.round(size)))
    if bad.size:
        raise InstanceError(tsrc, f"row {bad[0] + 1}, column 'size'",
                            f"expected a whole number of units >= 0, found {size[bad[0]]!r}")
    value = _numeric_column(df, "value", tsrc)
    cost = np.stack([_numeric_column(df, b.column, tsrc) for b in budgets])
    cl = df["cluster"].astype(str).to_numpy()
    op = df["option"].astype(str).to_numpy()
    clusters = tuple(pd.unique(cl))
    options = tuple(pd.unique(op))
    k_of = pd.Categorical(cl, categories=list(clusters)).codes
    j_of = pd.Categorical(op, categories=list(options)).codes
    key = pd.DataFrame({"r": rep, "k": k_of, "j": j_of})
    dup = key.duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InstanceError(tsrc, f"row {i + 1}", f"duplicate (replicate, cluster, option) = "
                            f"({rep[i]}, {cl[i]!r}, {op[i]!r}); expected each once")
    reps = np.unique(rep)
    if reps[0] != 0 or not np.array_equal(reps, np.arange(reps.size)):
        raise InstanceError(tsrc, "column 'replicate'",
                            f"expected replicates 0..R without gaps (0 = point estimate), "
                            f"found {reps.tolist()[:10]}")
    nk, nm, nr = len(clusters), len(options), reps.size
    valid = np.zeros((nk, nm), dtype=bool)
    base = rep == 0
    valid[k_of[base], j_of[base]] = True
    for r in range(1, nr):
        vr = np.zeros_like(valid)
        sel = rep == r
        vr[k_of[sel], j_of[sel]] = True
        if not np.array_equal(vr, valid):
            raise InstanceError(tsrc, "column 'replicate'", f"replicate {r} does not have the same "
                                "(cluster, option) rows as replicate 0")
    sizes = np.full(nk, -1.0)
    for k in range(nk):
        s = np.unique(size[k_of == k])
        if s.size != 1:
            raise InstanceError(tsrc, "column 'size'", f"cluster {clusters[k]!r} has different "
                                f"sizes {s.tolist()[:5]}; expected one size per cluster")
        sizes[k] = s[0]
    V = np.zeros((nr, nk, nm))
    C = np.zeros((nr, len(budgets), nk, nm))
    V[rep, k_of, j_of] = value
    C[rep[None, :].repeat(len(budgets), 0), np.arange(len(budgets))[:, None], k_of[None],
      j_of[None]] = cost
    value_se = cost_se = samples = None
    if "value_se" in df.columns:
        value_se = np.full((nk, nm), np.nan)
        value_se[k_of[base], j_of[base]] = _numeric_column(df, "value_se", tsrc)[base]
    se_cols = [f"{b.column}_se" for b in budgets]
    if all(c in df.columns for c in se_cols):
        cost_se = np.full((len(budgets), nk, nm), np.nan)
        for b, c in enumerate(se_cols):
            cost_se[b][k_of[base], j_of[base]] = _numeric_column(df, c, tsrc)[base]
    if "samples" in df.columns:
        samples = np.full((nk, nm), -1, dtype=np.int64)
        samples[k_of[base], j_of[base]] = _numeric_column(df, "samples", tsrc)[base].astype(int)
    return ClusterProgram(
        name=str(m.get("name", p.stem)), clusters=clusters, options=options,
        sizes=sizes.astype(np.int64), value=V, costs=C, valid=valid, budgets=tuple(budgets),
        scenarios=scenarios, value_se=value_se, cost_se=cost_se, samples=samples,
        merged={str(a): str(b) for a, b in merged.items()},
        description=str(m.get("description", "")),
    )


def write_cluster_program(
    program: ClusterProgram, path: str | os.PathLike[str], *, table_format: str = "csv"
) -> Path:
    """Write ``<path>.toml`` (or ``<folder>/clusters.toml``) and its table beside it, atomically."""
    import tomli_w

    p = Path(path)
    if p.suffix != ".toml":
        p = p / "clusters.toml"
    if table_format not in ("csv", "parquet"):
        raise UsageError(f"table_format: expected 'csv' or 'parquet', got {table_format!r}")
    table = f"{p.stem}.{table_format}"
    m: dict[str, Any] = {"name": program.name, "kind": "clusters", "table": table}
    if program.description:
        m["description"] = program.description
    m["budgets"] = [{"name": b.name, "column": b.column or b.name, "limit": b.limit}
                    for b in program.budgets]
    if program.scenarios:
        m["scenarios"] = [{"probability": s.probability, "limits": dict(s.limits)}
                          for s in program.scenarios]
    if program.merged:
        m["merged"] = dict(program.merged)
    df = program.table()
    atomic_write_frame(df, p.parent / table)
    atomic_write_text(p, tomli_w.dumps(m))
    return p
