"""The feature schema of a model: which columns, how numbers are scaled, which categories exist.

A schema is fitted once on the training data and saved with the model (model.toml), so that
predicting on new data encodes it exactly as in training and refuses what training never saw:
a missing feature column, a category that did not occur, text in a numeric column.

Encoding: numeric columns are standardised with the training mean and standard deviation (a
constant column keeps scale 1); text, categorical and boolean-like text columns are one-hot
encoded over the training categories, in sorted order. Booleans count as numbers (0/1). The
result is a float32 matrix (N, D) built column by column, never a Python loop per row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from formulations.errors import InstanceError, UsageError
from formulations.experiment_data import ExperimentData, FeatureTable


@dataclass(frozen=True)
class NumericFeature:
    name: str
    mean: float
    scale: float


@dataclass(frozen=True)
class CategoricalFeature:
    name: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class FeatureSchema:
    """Columns in their training order, each numeric (scaled) or categorical (one-hot)."""

    columns: tuple[NumericFeature | CategoricalFeature, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def width(self) -> int:
        """D, the number of encoded columns."""
        return sum(1 if isinstance(c, NumericFeature) else len(c.categories)
                   for c in self.columns)

    @property
    def encoded_names(self) -> tuple[str, ...]:
        out: list[str] = []
        for c in self.columns:
            if isinstance(c, NumericFeature):
                out.append(c.name)
            else:
                out.extend(f"{c.name}={v}" for v in c.categories)
        return tuple(out)

    @classmethod
    def fit(cls, features: pd.DataFrame) -> FeatureSchema:
        if features.shape[1] == 0:
            raise UsageError("features: the data names no feature columns; a model needs at "
                             "least one (the manifest's `features`)")
        cols: list[NumericFeature | CategoricalFeature] = []
        for name in features.columns:
            s = features[name]
            if _is_numeric(s):
                v = s.to_numpy(np.float64)
                sd = float(v.std())
                cols.append(NumericFeature(str(name), float(v.mean()),
                                           sd if sd > 1e-12 else 1.0))
            else:
                cats = tuple(sorted(pd.unique(s.astype(str))))
                cols.append(CategoricalFeature(str(name), cats))
        return cls(tuple(cols))

    def encode(self, data: ExperimentData | FeatureTable) -> np.ndarray:
        """(N, D) float32 matrix of ``data``'s features, checked against the schema."""
        frame = data.features
        source = data.source
        missing = [n for n in self.names if n not in frame.columns]
        if missing:
            raise InstanceError(
                source, f"column {missing[0]!r}",
                f"feature missing; the model was trained on {list(self.names)}")
        n = frame.shape[0]
        out = np.empty((n, self.width), dtype=np.float32)
        numeric: list[tuple[int, NumericFeature]] = []
        at = 0
        for c in self.columns:
            s = frame[c.name]
            if isinstance(c, NumericFeature):
                if not _is_numeric(s):
                    bad = pd.to_numeric(s, errors="coerce").isna().to_numpy()
                    i = int(np.flatnonzero(bad)[0]) if bad.any() else 0
                    raise InstanceError(source, f"row {i + 1}, column {c.name!r}",
                                        f"expected a number (the model was trained on numbers), "
                                        f"found {s.iloc[i]!r}")
                numeric.append((at, c))
                at += 1
            else:
                codes = pd.Index(c.categories).get_indexer(pd.Index(s.astype(str)))
                unseen = codes < 0
                if unseen.any():
                    i = int(np.flatnonzero(unseen)[0])
                    raise InstanceError(
                        source, f"row {i + 1}, column {c.name!r}",
                        f"category {str(s.iloc[i])!r} was not seen in training; known: "
                        f"{list(c.categories)}")
                block = out[:, at:at + len(c.categories)]
                block[:] = 0.0
                block[np.arange(codes.shape[0]), codes] = 1.0
                at += len(c.categories)
        if numeric:
            self._standardise(frame, numeric, out)
        return out

    @staticmethod
    def _standardise(frame: pd.DataFrame, numeric: list[tuple[int, NumericFeature]],
                     out: np.ndarray) -> None:
        """(x - mean) / scale of every numeric column into its place of ``out``, in float64,
        a block of rows at a time: one 2-D array per block instead of a strided column write
        per feature (about 4x faster at 10^6 rows)."""
        pos = np.array([p for p, _ in numeric])
        mean = np.array([c.mean for _, c in numeric])
        scale = np.array([c.scale for _, c in numeric])
        sub = frame[[c.name for _, c in numeric]]
        first, last = int(pos[0]), int(pos[-1]) + 1
        contiguous = last - first == pos.size
        rows = 1 << 18
        for s in range(0, frame.shape[0], rows):
            block = sub.iloc[s:s + rows].to_numpy(np.float64, copy=True)
            block -= mean
            block /= scale
            if contiguous:
                out[s:s + rows, first:last] = block
            else:
                out[s:s + rows, pos] = block

    def to_dict(self) -> dict[str, Any]:
        """The schema as TOML-ready tables (model.toml ``[[features]]``)."""
        rows: list[dict[str, Any]] = []
        for c in self.columns:
            if isinstance(c, NumericFeature):
                rows.append({"name": c.name, "kind": "numeric", "mean": c.mean,
                             "scale": c.scale})
            else:
                rows.append({"name": c.name, "kind": "categorical",
                             "categories": list(c.categories)})
        return {"features": rows}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "model.toml") -> FeatureSchema:
        rows = d.get("features")
        if not isinstance(rows, list) or not rows:
            raise InstanceError(source, "features", "missing: expected [[features]] tables")
        cols: list[NumericFeature | CategoricalFeature] = []
        for i, r in enumerate(rows):
            where = f"features[{i}]"
            try:
                if r["kind"] == "numeric":
                    cols.append(NumericFeature(str(r["name"]), float(r["mean"]),
                                               float(r["scale"])))
                elif r["kind"] == "categorical":
                    cols.append(CategoricalFeature(str(r["name"]),
                                                   tuple(map(str, r["categories"]))))
                else:
                    raise InstanceError(source, f"{where}.kind",
                                        f"expected 'numeric' or 'categorical', got {r['kind']!r}")
            except (KeyError, TypeError, ValueError) as e:
                raise InstanceError(source, where, f"malformed feature entry ({e})") from None
        return cls(tuple(cols))


def _is_numeric(s: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))
