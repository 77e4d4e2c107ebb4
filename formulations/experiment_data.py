"""Experiment data (v1): randomised or observational logs named by a TOML manifest.

ARCHITECTURE.md, "Experiment data (v1)". One row per unit: features, the treatment it received,
its outcome, its cost (a column, or a fixed cost per option from ``[costs]``) and, where known,
the propensity of the received treatment. Errors name the file, the key or row, what was
expected and what was found.

Two kinds of table are read here:

* :class:`ExperimentData`: a log to learn from or to evaluate a policy on (treatment, outcome,
  cost, propensity, features). An RCT's propensity defaults to each arm's share of the sample;
  an observational log may have none (methods that need one estimate it and say so).
* :class:`FeatureTable`: units and their features only, what ``predict`` needs. A manifest
  without ``treatment`` / ``outcome`` is read as one; an experiment manifest can be read as one
  too (:func:`load_features`).

Manifest keys (all optional except ``table``, and for experiment data ``treatment``,
``outcome`` and ``control``): ``name``, ``description``, ``table``, ``kind`` ("rct" or
"observational"), ``treatment``, ``control``, ``arms`` (every arm label, control first, in the
order models should use; a label outside it is an error), ``outcome``, ``cost`` (a column) or
``[costs]`` (fixed per arm), ``features``, ``unit`` (the column of unit ids; default the row
number), ``propensity``, ``pre_period``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from formulations.atomic_write import atomic_write_frame, atomic_write_text
from formulations.errors import InstanceError, UsageError
from formulations.instance_file import manifest_path, read_manifest, read_table

KEYS = {
    "name", "description", "table", "kind", "treatment", "control", "arms", "outcome", "cost",
    "features", "unit", "propensity", "pre_period", "costs",
}
KINDS = ("rct", "observational")
MANIFEST = "data.toml"


@dataclass(frozen=True, eq=False)
class FeatureTable:
    """Units and their features: what a parameter provider needs to predict.

    ``unit_ids`` (N,) are the ids from the data's ``unit`` column, or the row numbers 0..N-1.
    ``source`` names the table in error messages (e.g. a feature missing at predict time).
    """

    name: str
    unit_ids: np.ndarray
    features: pd.DataFrame
    source: str = "<frame>"

    @property
    def n_units(self) -> int:
        return int(self.unit_ids.shape[0])

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(map(str, self.features.columns))


@dataclass(frozen=True, eq=False)
class ExperimentData:
    """Unit-level experiment data as plain arrays plus the feature frame.

    ``arms`` lists the options with the control first; ``arm`` (N,) indexes into it.
    ``propensity`` is the given column, for an RCT without one the arm's share of the sample,
    and None for an observational log that does not record it.
    """

    name: str
    kind: str
    arms: tuple[str, ...]
    arm: np.ndarray
    outcome: np.ndarray
    cost: np.ndarray
    propensity: np.ndarray | None
    features: pd.DataFrame
    pre_period: tuple[str, ...] = ()
    option_costs: Mapping[str, float] | None = None
    """The fixed per-option costs where the data has no cost column."""
    unit_ids: np.ndarray | None = None
    """(N,) ids from the ``unit`` column; None means the row numbers (see :attr:`units`)."""
    source: str = "<frame>"

    @property
    def n_units(self) -> int:
        return int(self.arm.shape[0])

    @property
    def n_arms(self) -> int:
        return len(self.arms)

    @property
    def control(self) -> str:
        return self.arms[0]

    @property
    def units(self) -> np.ndarray:
        """(N,) unit ids: the ``unit`` column, or the row numbers."""
        return np.arange(self.n_units) if self.unit_ids is None else self.unit_ids

    @property
    def arm_counts(self) -> np.ndarray:
        """(M,) N_j, the number of units that received each arm."""
        return np.bincount(self.arm, minlength=self.n_arms)

    def design_propensity(self, what: str = "this method") -> np.ndarray:
        """The propensity of every unit's received arm, or a clear error where there is none."""
        if self.propensity is None:
            raise UsageError(
                f"{self.source}: {what} needs the propensity of the received treatment, and this "
                "observational log has none; name a propensity column in the manifest or "
                "estimate one (learners.propensity)"
            )
        return self.propensity

    def feature_table(self) -> FeatureTable:
        return FeatureTable(name=self.name, unit_ids=self.units, features=self.features,
                            source=self.source)

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
            outcome=self.outcome[idx], cost=self.cost[idx],
            propensity=None if self.propensity is None else self.propensity[idx],
            features=self.features.iloc[idx].reset_index(drop=True), pre_period=self.pre_period,
            option_costs=self.option_costs, unit_ids=self.units[idx], source=self.source,
        )


def _err(src: str, where: str, problem: str) -> InstanceError:
    return InstanceError(src, where, problem)


def _unit_ids(
    df: pd.DataFrame, unit: str | None, source: str, *, row_offset: int = 0, unique: bool = True
) -> np.ndarray | None:
    """The unit ids, checked: none empty and (``unique``) none repeated. ``row_offset`` is the
    table row of ``df``'s first row, for the row numbers in errors."""
    if unit is None:
        return None
    if unit not in df.columns:
        raise _err(source, f"column {unit!r}",
                   f"missing (the unit ids); the table has columns {list(map(str, df.columns))}")
    s = df[unit]
    if s.isna().any():
        i = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise _err(source, f"row {row_offset + i + 1}, column {unit!r}", "empty unit id")
    ids = np.asarray(s.to_numpy())
    if unique:
        check_unique_ids(ids, unit, source, row_offset=row_offset)
    return ids


def check_unique_ids(ids: np.ndarray, unit: str, source: str, *, row_offset: int = 0) -> None:
    """Refuse a repeated unit id, naming the first row that repeats an earlier one."""
    if ids.dtype.kind in "iuf":
        # a stable sort instead of a hash table: at 10^7 ids it needs a fraction of the memory
        order = np.argsort(ids, kind="stable")
        s = ids[order]
        later = order[1:][s[1:] == s[:-1]]
        i = int(later.min()) if later.size else -1
    else:
        dup = pd.Index(ids).duplicated()
        i = int(np.flatnonzero(dup)[0]) if dup.any() else -1
    if i >= 0:
        raise _err(source, f"row {row_offset + i + 1}, column {unit!r}",
                   f"duplicate unit id {ids[i]!r}; expected one row per unit")


def _check_features(
    df: pd.DataFrame, features: Sequence[str], source: str, row_offset: int = 0
) -> None:
    for col in features:
        if col not in df.columns:
            raise _err(source, f"column {col!r}",
                       f"missing feature; the table has columns {list(map(str, df.columns))}")
        s = df[col]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            # one pass: isfinite is False for NaN too
            v = s.to_numpy(np.float64, na_value=np.nan)
            bad = ~np.isfinite(v)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                if np.isnan(v[i]):
                    raise _err(source, f"row {row_offset + i + 1}, column {col!r}",
                               "missing feature value (NaN)")
                raise _err(source, f"row {row_offset + i + 1}, column {col!r}",
                           f"expected a finite number, found {v[i]!r}")
            continue
        isna = s.isna().to_numpy()
        if isna.any():
            i = int(np.flatnonzero(isna)[0])
            raise _err(source, f"row {row_offset + i + 1}, column {col!r}",
                       "missing feature value (NaN)")


def features_from_frame(
    df: pd.DataFrame,
    *,
    features: Sequence[str],
    unit: str | None = None,
    name: str = "data",
    source: str = "<frame>",
    row_offset: int = 0,
    unique: bool = True,
) -> FeatureTable:
    """Validate the feature columns (and unit ids) of a DataFrame; no treatment or outcome.

    For one chunk of a larger table (formulations.feature_chunks): ``row_offset`` is the table
    row of the frame's first row (the default ids and the row numbers in errors count from it),
    and ``unique=False`` leaves the check for repeated ids to the caller, across chunks.
    """
    if len(df) == 0:
        raise _err(source, "", "the table is empty: expected one row per unit")
    if not features:
        raise _err(source, "features", "no feature columns named")
    _check_features(df, features, source, row_offset)
    ids = _unit_ids(df, unit, source, row_offset=row_offset, unique=unique)
    return FeatureTable(
        name=name,
        unit_ids=np.arange(row_offset, row_offset + len(df)) if ids is None else ids,
        features=df[list(features)].reset_index(drop=True), source=source,
    )


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
    arms: Sequence[str] | None = None,
    unit: str | None = None,
    name: str = "data",
    source: str = "<frame>",
    manifest: str | None = None,
) -> ExperimentData:
    """Validate a DataFrame and return ExperimentData (the manifest loader calls this too).

    ``source`` names the table in errors about rows and columns, ``manifest`` the file in errors
    about keys (both default to ``<frame>``). ``arms``, where given, fixes the arm labels and
    their order (control first); a treatment label outside it is an error.
    """
    msrc = manifest or source
    if kind not in KINDS:
        raise _err(msrc, "kind", f"expected one of {list(KINDS)}, got {kind!r}")
    if len(df) == 0:
        raise _err(source, "", "the table is empty: expected one row per unit")
    needed = [treatment, outcome, *pre_period]
    needed += [c for c in (cost, propensity) if c is not None]
    for col in needed:
        if col not in df.columns:
            raise _err(source, f"column {col!r}",
                       f"missing; the table has columns {list(map(str, df.columns))}")
    # factorise first: the labels are a handful of values over up to 10^7 rows, so every check
    # and the mapping to arm codes runs on the unique values
    codes, uniques = pd.factorize(df[treatment], use_na_sentinel=True)
    if (codes < 0).any():
        i = int(np.flatnonzero(codes < 0)[0])
        raise _err(source, f"row {i + 1}, column {treatment!r}", "empty treatment")
    unique_labels = [str(u) for u in uniques]
    present = sorted(set(unique_labels))
    if control is None:
        raise _err(msrc, "control", "missing: name the option that costs nothing")
    control = str(control)
    if arms is not None:
        declared = [str(a) for a in arms]
        if len(set(declared)) != len(declared):
            raise _err(msrc, "arms", f"duplicate arm labels in {declared}")
        if not declared or declared[0] != control:
            raise _err(msrc, "arms", f"expected the control {control!r} first, got {declared}")
        for k, label in enumerate(unique_labels):
            if label not in declared:
                i = int(np.flatnonzero(codes == k)[0])
                raise _err(source, f"row {i + 1}, column {treatment!r}",
                           f"unknown treatment label {label!r}; expected one of {declared}")
        arm_labels = tuple(declared)
    else:
        if control not in present:
            raise _err(msrc, "control", f"unknown treatment {control!r}; the data has {present}")
        arm_labels = (control, *[a for a in present if a != control])
    if len(present) < 2:
        raise _err(source, f"column {treatment!r}",
                   f"expected at least two arms (a control and a treatment), found {present}")
    lookup = np.array([arm_labels.index(label) for label in unique_labels], dtype=np.int64)
    arm = lookup[codes]

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
        unknown_costs = sorted(set(given) - set(arm_labels))
        if unknown_costs:
            raise _err(msrc, f"costs.{unknown_costs[0]}",
                       f"unknown treatment; the data has {list(arm_labels)}")
        for a in arm_labels:
            v = given.get(a, 0.0 if a == arm_labels[0] else None)
            if v is None:
                raise _err(msrc, "costs", f"no cost for treatment {a!r}: add it to [costs] "
                           "or name a cost column")
            if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
                raise _err(msrc, f"costs.{a}", f"expected a finite number, got {v!r}")
            option_costs[a] = float(v)
        c = np.array([option_costs[a] for a in arm_labels])[arm]
    _check_features(df, features, source)
    p: np.ndarray | None
    if propensity is not None:
        p = numeric(propensity)
        bad = np.flatnonzero((p <= 0) | (p > 1))
        if bad.size:
            i = int(bad[0])
            raise _err(source, f"row {i + 1}, column {propensity!r}",
                       f"expected a propensity in (0, 1], found {p[i]!r}")
    elif kind == "rct":
        p = (np.bincount(arm, minlength=len(arm_labels)) / arm.size)[arm]
    else:
        p = None
    return ExperimentData(
        name=name, kind=kind, arms=arm_labels, arm=arm, outcome=y, cost=c, propensity=p,
        features=df[list(features)].reset_index(drop=True), pre_period=tuple(pre_period),
        option_costs=option_costs, unit_ids=_unit_ids(df, unit, source), source=source,
    )


class _Manifest:
    """Typed access to a data manifest's keys, with errors that name the file and key."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = manifest_path(path, MANIFEST)
        self.src = str(self.path)
        self.m = read_manifest(self.path)
        unknown = sorted(set(self.m) - KEYS)
        if unknown:
            raise _err(self.src, unknown[0], f"unknown key; expected one of {sorted(KEYS)}")

    def text(self, key: str, default: Any = None, required: bool = True) -> Any:
        v = self.m.get(key, default)
        if v is None and not required:
            return None
        if not isinstance(v, str) or not v:
            raise _err(self.src, key, f"expected a non-empty string, got {v!r}")
        return v

    def names(self, key: str) -> list[str] | None:
        if key not in self.m:
            return None
        v = self.m[key]
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise _err(self.src, key, f"expected an array of names, got {v!r}")
        return list(v)

    def table(self) -> tuple[pd.DataFrame, str]:
        table = self.path.parent / self.text("table")
        unit = self.m.get("unit")
        text_cols = (unit,) if isinstance(unit, str) else ()
        return read_table(table, self.src, text_columns=text_cols), str(table)

    @property
    def name(self) -> str:
        return str(self.m.get("name", self.path.parent.name))


def load_experiment(path: str | os.PathLike[str]) -> ExperimentData:
    """Load experiment data from its TOML manifest (or a folder holding ``data.toml``)."""
    mf = _Manifest(path)
    costs = mf.m.get("costs", {})
    if not isinstance(costs, dict):
        raise _err(mf.src, "costs", "expected a table {option = cost}")
    for key in ("treatment", "outcome"):
        if key not in mf.m:
            raise _err(mf.src, key, "missing: experiment data names its treatment and outcome "
                       "columns (a features-only table can only be predicted on)")
    df, table = mf.table()
    return experiment_from_frame(
        df,
        treatment=mf.text("treatment"),
        outcome=mf.text("outcome"),
        control=mf.text("control"),
        cost=mf.text("cost", required=False),
        costs=costs,
        features=mf.names("features") or [],
        propensity=mf.text("propensity", required=False),
        kind=mf.text("kind", "rct"),
        pre_period=mf.names("pre_period") or [],
        arms=mf.names("arms"),
        unit=mf.text("unit", required=False),
        name=mf.name,
        source=table,
        manifest=mf.src,
    )


def load_features(path: str | os.PathLike[str]) -> FeatureTable:
    """Load the units and features named by a manifest (treatment and outcome not needed)."""
    mf = _Manifest(path)
    features = mf.names("features")
    if not features:
        raise _err(mf.src, "features", "missing: expected an array of feature column names")
    df, table = mf.table()
    return features_from_frame(df, features=features, unit=mf.text("unit", required=False),
                               name=mf.name, source=table)


def is_experiment_manifest(path: str | os.PathLike[str]) -> bool:
    """True when the manifest names a treatment (experiment data), False for features only."""
    return "treatment" in _Manifest(path).m


def write_experiment(
    frame: pd.DataFrame,
    folder: str | os.PathLike[str],
    manifest: Mapping[str, Any],
    *,
    table_format: str = "csv",
    check: bool = True,
) -> Path:
    """Write ``frame`` and a ``data.toml`` naming it into ``folder``, each atomically.

    ``manifest`` holds the keys of the module docstring except ``table``, which is set here
    (``data.csv`` or ``data.parquet``). Returns the manifest's path. The manifest is checked
    against the frame by loading it back (``check``), so a folder written here always loads.
    """
    import tomli_w

    if table_format not in ("csv", "parquet"):
        raise UsageError(f"table_format: expected 'csv' or 'parquet', got {table_format!r}")
    unknown = sorted(set(manifest) - KEYS)
    if unknown:
        raise UsageError(f"manifest: unknown key {unknown[0]!r}; expected one of {sorted(KEYS)}")
    out = Path(folder)
    table = f"data.{table_format}"
    body = {**dict(manifest), "table": table}
    atomic_write_frame(frame, out / table)
    atomic_write_text(out / MANIFEST, tomli_w.dumps(body))
    path = out / MANIFEST
    if not check:
        return path
    if "treatment" in body:
        load_experiment(path)
    else:
        load_features(path)
    return path
