"""Write a provider's predictions as a v1 instance, in chunks of units, at any size.

``provider.to_instance`` builds the instance in memory; for 10^7 users x 5 arms the long table
(unit, arm, value, cost per row) is several times the size of the predictions, so
:func:`write_predictions` predicts one chunk of units at a time and appends its rows to the
table (Parquet row groups, or CSV), never holding the whole table. Both paths compute the rows
the same way (learners/provider.py: incremental value and cost over the control arm), so the
written instance equals ``to_instance``.

The folder is built beside the target and renamed into place (atomic): ``instance.toml`` names
``options.parquet`` (or ``options.csv``), unit column ``unit``, option column ``arm``, value
column ``value`` and the one budget ``cost`` with the given limit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from formulations.atomic_write import atomic_dir
from formulations.experiment_data import ExperimentData, FeatureTable
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


def _rows(
    inc_v: np.ndarray, inc_c: np.ndarray, units: np.ndarray, arms: tuple[str, ...]
) -> dict[str, Any]:
    n, m = inc_v.shape
    return {"unit": np.repeat(units, m), "arm": np.tile(np.arange(m, dtype=np.int8), n),
            "value": inc_v.reshape(-1), BUDGET: inc_c.reshape(-1)}


def write_predictions(
    provider: ParameterProvider,
    data: ExperimentData | FeatureTable,
    limit: float,
    out: str | os.PathLike[str],
    *,
    table_format: str = "parquet",
    name: str | None = None,
    force: bool = False,
    chunk_units: int = CHUNK_UNITS,
) -> WrittenInstance:
    """Predict ``data`` chunk by chunk and write the incremental instance to ``out``."""
    import tomli_w

    table = data.feature_table() if isinstance(data, ExperimentData) else data
    if isinstance(data, ExperimentData):
        arm_columns(tuple(provider.arms), data)
    arms = tuple(provider.arms)
    units = np.asarray(table.unit_ids)
    n = table.n_units
    table_name = f"options.{table_format}"
    top = 0.0
    with atomic_dir(out, replace=force) as tmp:
        target = tmp / table_name
        writer: Any = None
        first = True
        try:
            for s in range(0, n, chunk_units):
                part = FeatureTable(name=table.name, unit_ids=units[s:s + chunk_units],
                                    features=table.features.iloc[s:s + chunk_units],
                                    source=table.source)
                inc_v, inc_c = incremental(*provider.predict(part))
                rows = np.arange(inc_v.shape[0])
                top += float(inc_c[rows, np.argmax(inc_v, axis=1)].sum())
                cols = _rows(inc_v, inc_c, part.unit_ids, arms)
                if table_format == "parquet":
                    writer = _append_parquet(writer, target, cols, arms)
                else:
                    frame = pd.DataFrame({**cols, "arm": np.asarray(arms, dtype=object)[
                        cols["arm"]]})
                    frame.to_csv(target, mode="w" if first else "a", header=first,
                                 index=False)
                first = False
        finally:
            if writer is not None:
                writer.close()
        manifest = {
            "name": name or f"{provider.method}_{table.name}",
            "description": f"incremental predictions of a {provider.method} model over "
                           f"{arms[0]!r}",
            "table": table_name, "unit": "unit", "option": "arm", "value": "value",
            "choose": "exactly-one",
            "budgets": [{"name": BUDGET, "column": BUDGET, "limit": float(limit)}],
        }
        (tmp / "instance.toml").write_text(tomli_w.dumps(manifest), encoding="utf-8")
    m = len(arms)
    return WrittenInstance(Path(out), n, n * m, float(limit), top)


def _append_parquet(writer: Any, target: Path, cols: dict[str, Any], arms: tuple[str, ...]) -> Any:
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
