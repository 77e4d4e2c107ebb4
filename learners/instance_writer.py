"""Write a provider's predictions as a v1 instance, in chunks of units, at any size.

``provider.to_instance`` builds the instance in memory; for 10^7 users x 5 arms the long table
(unit, arm, value, cost per row) is several times the size of the predictions, so
:func:`write_predictions` predicts one chunk of units at a time and appends its rows to the
table (Parquet row groups, or CSV), never holding the whole table. Both paths compute the rows
the same way (learners/provider.py: incremental value and cost over the control arm), so the
written instance equals ``to_instance``.

The units come from an ExperimentData or FeatureTable in memory (sliced into chunks), or from a
:class:`formulations.feature_chunks.FeatureChunks`, which streams a Parquet table so that the
features are never whole in memory either (``treatalloc predict`` on a Parquet table).

The folder is built beside the target and renamed into place (atomic): ``instance.toml`` names
``options.parquet`` (or ``options.csv``), unit column ``unit``, option column ``arm``, value
column ``value`` and the one budget ``cost`` with the given limit. With ``parts = N`` the table
is instead a folder ``options/`` of N Parquet files of consecutive units (every unit's rows in
one part), the layout the Dask backend solves part by part.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from formulations.atomic_write import atomic_dir
from formulations.errors import UsageError
from formulations.experiment_data import ExperimentData, FeatureTable
from formulations.feature_chunks import FeatureChunks
from learners.provider import BUDGET, ParameterProvider, arm_columns, incremental

CHUNK_UNITS = 500_000


@dataclass(frozen=True)
class WrittenInstance:
    path: Path
    n_units: int
    n_rows: int
    limit: float
    all_max_spend: float
    """the predicted incremental spend of giving every unit its most valuable arm"""


def table_rows(
    inc_v: np.ndarray, inc_c: np.ndarray, units: np.ndarray, arms: tuple[str, ...]
) -> dict[str, Any]:
    n, m = inc_v.shape
    return {"unit": np.repeat(units, m), "arm": np.tile(np.arange(m, dtype=np.int8), n),
            "value": inc_v.reshape(-1), BUDGET: inc_c.reshape(-1)}


def _slices(table: FeatureTable, chunk_units: int) -> Iterator[FeatureTable]:
    units = np.asarray(table.unit_ids)
    for s in range(0, table.n_units, chunk_units):
        yield FeatureTable(name=table.name, unit_ids=units[s:s + chunk_units],
                           features=table.features.iloc[s:s + chunk_units], source=table.source)


def write_predictions(
    provider: ParameterProvider,
    data: ExperimentData | FeatureTable | FeatureChunks,
    limit: float,
    out: str | os.PathLike[str],
    *,
    table_format: str = "parquet",
    name: str | None = None,
    force: bool = False,
    chunk_units: int = CHUNK_UNITS,
    parts: int | None = None,
) -> WrittenInstance:
    """Predict ``data`` chunk by chunk and write the incremental instance to ``out``.

    ``parts`` (Parquet only): write the table as a folder of that many files of consecutive
    units instead of one file (fewer where there are fewer units).
    """
    if parts is not None and (parts < 1 or table_format != "parquet"):
        raise UsageError(f"parts: expected a positive number of Parquet parts, got {parts} "
                         f"({table_format})")
    if isinstance(data, ExperimentData):
        arm_columns(tuple(provider.arms), data)
    arms = tuple(provider.arms)
    n = data.n_units
    part_units = max(1, math.ceil(n / parts)) if parts is not None else n
    chunk_units = min(chunk_units, part_units)
    if isinstance(data, FeatureChunks):
        source: Iterator[FeatureTable] = replace(data, chunk_rows=chunk_units).chunks()
        table_name_base = data.name
    else:
        table = data.feature_table() if isinstance(data, ExperimentData) else data
        source = _slices(table, chunk_units)
        table_name_base = table.name
    table_name = "options" if parts is not None else f"options.{table_format}"
    top = 0.0
    with atomic_dir(out, replace=force) as tmp:
        target = tmp / table_name
        if parts is not None:
            target.mkdir()
        writer: Any = None
        first = True
        split = _PartWriter(target, part_units, arms, len(arms)) if parts is not None else None
        try:
            for part in source:
                inc_v, inc_c = incremental(*provider.predict(part))
                rows = np.arange(inc_v.shape[0])
                top += float(inc_c[rows, np.argmax(inc_v, axis=1)].sum())
                cols = table_rows(inc_v, inc_c, part.unit_ids, arms)
                if split is not None:
                    split.write(cols, part.n_units)
                elif table_format == "parquet":
                    writer = append_parquet(writer, target, cols, arms)
                else:
                    frame = pd.DataFrame({**cols, "arm": np.asarray(arms, dtype=object)[
                        cols["arm"]]})
                    frame.to_csv(target, mode="w" if first else "a", header=first,
                                 index=False)
                first = False
        finally:
            if writer is not None:
                writer.close()
            if split is not None:
                split.close()
        write_manifest(tmp, provider, name or f"{provider.method}_{table_name_base}",
                       table_name, limit)
    m = len(arms)
    return WrittenInstance(Path(out), n, n * m, float(limit), top)


def write_manifest(folder: Path, provider: ParameterProvider, name: str, table_name: str,
                   limit: float) -> None:
    """``instance.toml`` of a predicted instance: the table, its columns, the one budget."""
    import tomli_w

    manifest = {
        "name": name,
        "description": f"incremental predictions of a {provider.method} model over "
                       f"{provider.arms[0]!r}",
        "table": table_name, "unit": "unit", "option": "arm", "value": "value",
        "choose": "exactly-one",
        "budgets": [{"name": BUDGET, "column": BUDGET, "limit": float(limit)}],
    }
    (folder / "instance.toml").write_text(tomli_w.dumps(manifest), encoding="utf-8")


class _PartWriter:
    """Parquet parts of ``part_units`` consecutive units each; a chunk that crosses a part's end
    is cut at a unit boundary (the rows are unit-major, ``m`` per unit)."""

    def __init__(self, folder: Path, part_units: int, arms: tuple[str, ...], m: int) -> None:
        self.folder, self.part_units, self.arms, self.m = folder, part_units, arms, m
        self.part_no, self.filled, self.writer = 0, 0, None

    def write(self, cols: dict[str, Any], n_units: int) -> None:
        done = 0
        while done < n_units:
            take = min(n_units - done, self.part_units - self.filled)
            lo, hi = done * self.m, (done + take) * self.m
            path = self.folder / f"part-{self.part_no:05d}.parquet"
            self.writer = append_parquet(self.writer, path, {k: v[lo:hi] for k, v in
                                                              cols.items()}, self.arms)
            done += take
            self.filled += take
            if self.filled == self.part_units:
                self.close()
                self.part_no, self.filled = self.part_no + 1, 0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def append_parquet(writer: Any, target: Path, cols: dict[str, Any], arms: tuple[str, ...]) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arm = pa.DictionaryArray.from_arrays(pa.array(cols["arm"], type=pa.int8()),
                                         pa.array(list(arms), type=pa.string()))
    batch = pa.table({"unit": pa.array(cols["unit"]), "arm": arm,
                      "value": pa.array(cols["value"]), BUDGET: pa.array(cols[BUDGET])})
    if writer is None:
        writer = pq.ParquetWriter(target, batch.schema)
    writer.write_table(batch)
    return writer
