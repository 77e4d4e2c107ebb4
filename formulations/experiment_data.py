"""Experiment data (v1): randomised or observational logs named by a TOML manifest.

ARCHITECTURE.md, "Experiment data (v1)". One row per unit: features, the treatment it received,
its outcome, its cost (a column, or a fixed cost per option from ``[costs]``) and, where known,
the propensity of the received treatment. Errors name the file, the key or row, what was
expected and what was found.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from formulations.errors import InstanceError, UsageError
from formulations.instance_file import manifest_path, read_manifest, read_table

KEYS = {
    "name", "description", "table", "kind", "treatment", "control", "outcome", "cost",
    "features", "propensity", "pre_period", "costs",
}
KINDS = ("rct", "observational")


@dataclass(frozen=True, eq=False)
class ExperimentData:
    """Unit-level experiment data as plain arrays plus the feature frame.

    ``arms`` lists the options with the control first; ``arm`` (N,) indexes into it.
    ``propensity`` is the given column, or for an RCT the arm's share of the sample.
    """

    name: str
    kind: str
    arms: tuple[str, ...]
    arm: np.ndarray
    outcome: np.ndarray
    cost: np.ndarray
    propensity: np.ndarray
    features: pd.DataFrame
    pre_period: tuple[str, ...] = ()
    option_costs: Mapping[str, float] | None = None
    """The fixed per-option costs where the data has no cost column."""

    @property
    def n_units(self) -> int:
        return int(self.arm.shape[0])

    @property
    def control(self) -> str:
        return self.arms[0]

    def feature_matrix(self) -> np.ndarray:
        """(N, F) float matrix: numeric columns as they are, text columns one-hot encoded."""
        if self.features.shape[1] == 0:
            raise UsageError(f"{self.name}: the data names no feature columns")
        return np.asarray(pd.get_dummies(self.features, dtype=np.float64).to_numpy(np.float64))

    def subset(self, rows: np.ndarray) -> ExperimentData:
        """The units at ``rows`` (positions or a boolean mask); propensities are kept as given."""
        idx = np.arange(self.n_units)[rows]
        return ExperimentData(
            name=self.name, kind=self.kind, arms=self.arms, arm=self.arm[idx],
            outcome=self.outcome[idx], cost=self.cost[idx], propensity=self.propensity[idx],
            features=self.features.iloc[idx].reset_index(drop=True), pre_period=self.pre_period,
            option_costs=self.option_costs,
        )


def _err(src: str, where: str, problem: str) -> InstanceError:
    return InstanceError(src, where, problem)


def experiment_from_frame(
    df: pd.DataFrame,
    *,
    treatment: str,
    outcome: str,
    control: str | None = None,
    cost: str | None = None,
    costs: Mapping[str, float] | None = None,
    features: Sequence[str] = (),
    propensity: str | None = None,
    kind: str = "rct",
    pre_period: Sequence[str] = (),
    name: str = "data",
    source: str = "<frame>",
    manifest: str | None = None,
) -> ExperimentData:
    """Validate a DataFrame and return ExperimentData (the manifest loader calls this too).

    ``source`` names the table in errors about rows and columns, ``manifest`` the file in errors
    about keys (both default to ``<frame>``).
    """
    msrc = manifest or source
    if kind not in KINDS:
        raise _err(msrc, "kind", f"expected one of {list(KINDS)}, got {kind!r}")
    if len(df) == 0:
        raise _err(source, "", "the table is empty: expected one row per unit")
    needed = [treatment, outcome, *features, *pre_period]
    needed += [c for c in (cost, propensity) if c is not None]
    for col in needed:
        if col not in df.columns:
            raise _err(source, f"column {col!r}",
                       f"missing; the table has columns {list(map(str, df.columns))}")
    labels = df[treatment]
    if labels.isna().any():
        i = int(np.flatnonzero(labels.isna().to_numpy())[0])
        raise _err(source, f"row {i + 1}, column {treatment!r}", "empty treatment")
    labels = labels.astype(str)
    present = sorted(pd.unique(labels))
    if len(present) < 2:
        raise _err(source, f"column {treatment!r}",
                   f"expected at least two arms (a control and a treatment), found {present}")
    if control is None:
        raise _err(msrc, "control", "missing: name the option that costs nothing")
    if str(control) not in present:
        raise _err(msrc, "control", f"unknown treatment {control!r}; the data has {present}")
    arms = (str(control), *[a for a in present if a != str(control)])
    arm = pd.Categorical(labels, categories=list(arms)).codes.astype(np.int64)

    def numeric(col: str) -> np.ndarray:
        s = pd.to_numeric(df[col], errors="coerce")
        arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = int(bad[0])
            raise _err(source, f"row {i + 1}, column {col!r}",
                       f"expected a finite number, found {df[col].iloc[i]!r}")
        return arr

    y = numeric(outcome)
    option_costs: dict[str, float] | None = None
    if cost is not None:
        if costs:
            raise _err(msrc, "costs", "give either a cost column or [costs], not both")
        c = numeric(cost)
    else:
        option_costs = {}
        given = dict(costs or {})
        unknown = sorted(set(given) - set(arms))
        if unknown:
            raise _err(msrc, f"costs.{unknown[0]}",
                       f"unknown treatment; the data has {list(arms)}")
        for a in arms:
            v = given.get(a, 0.0 if a == arms[0] else None)
            if v is None:
                raise _err(msrc, "costs", f"no cost for treatment {a!r}: add it to [costs] "
                           "or name a cost column")
            if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
                raise _err(msrc, f"costs.{a}", f"expected a finite number, got {v!r}")
            option_costs[a] = float(v)
        c = np.array([option_costs[a] for a in arms])[arm]
    for col in features:
        s = df[col]
        if s.isna().any():
            i = int(np.flatnonzero(s.isna().to_numpy())[0])
            raise _err(source, f"row {i + 1}, column {col!r}", "missing feature value (NaN)")
        if pd.api.types.is_numeric_dtype(s) and not np.all(np.isfinite(s.to_numpy(np.float64))):
            i = int(np.flatnonzero(~np.isfinite(s.to_numpy(np.float64)))[0])
            raise _err(source, f"row {i + 1}, column {col!r}", "expected a finite number")
    if propensity is not None:
        p = numeric(propensity)
        bad = np.flatnonzero((p <= 0) | (p > 1))
        if bad.size:
            i = int(bad[0])
            raise _err(source, f"row {i + 1}, column {propensity!r}",
                       f"expected a propensity in (0, 1], found {p[i]!r}")
    elif kind == "rct":
        p = (np.bincount(arm, minlength=len(arms)) / arm.size)[arm]
    else:
        raise _err(msrc, "propensity",
                   "observational data needs a propensity column (P(received treatment | unit))")
    return ExperimentData(
        name=name, kind=kind, arms=arms, arm=arm, outcome=y, cost=c, propensity=p,
        features=df[list(features)].reset_index(drop=True), pre_period=tuple(pre_period),
        option_costs=option_costs,
    )


def load_experiment(path: str | os.PathLike[str]) -> ExperimentData:
    """Load experiment data from its TOML manifest (or a folder holding ``data.toml``)."""
    p = manifest_path(path, "data.toml")
    src = str(p)
    m = read_manifest(p)
    unknown = sorted(set(m) - KEYS)
    if unknown:
        raise _err(src, unknown[0], f"unknown key; expected one of {sorted(KEYS)}")

    def text(key: str, default: Any = None, required: bool = True) -> Any:
        v = m.get(key, default)
        if v is None and not required:
            return None
        if not isinstance(v, str) or not v:
            raise _err(src, key, f"expected a non-empty string, got {v!r}")
        return v

    def names(key: str) -> list[str]:
        v = m.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise _err(src, key, f"expected an array of column names, got {v!r}")
        return list(v)

    table = text("table")
    costs = m.get("costs", {})
    if not isinstance(costs, dict):
        raise _err(src, "costs", "expected a table {option = cost}")
    df = read_table(p.parent / table, src)
    return experiment_from_frame(
        df,
        treatment=text("treatment"),
        outcome=text("outcome"),
        control=text("control"),
        cost=text("cost", required=False),
        costs=costs,
        features=names("features"),
        propensity=text("propensity", required=False),
        kind=text("kind", "rct"),
        pre_period=names("pre_period"),
        name=str(m.get("name", p.parent.name)),
        source=str(p.parent / table),
        manifest=src,
    )
