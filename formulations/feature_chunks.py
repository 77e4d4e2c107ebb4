"""A features-only Parquet table read a chunk of rows at a time, never whole.

``treatalloc predict`` on 10^7 users and more: :func:`formulations.experiment_data.load_features`
reads the whole table into one DataFrame, and pyarrow's decoding buffers come on top (at 10^7
users x 13 features about 3 GiB at its peak for a table of 1 GiB). :class:`FeatureChunks`
instead streams the table (a Parquet file or a folder of Parquet parts, in the order pandas
reads them) in record batches of at most ``chunk_rows`` rows, reading only the feature and unit
columns. Each chunk is checked as :func:`~formulations.experiment_data.features_from_frame`
checks a whole table, with the table's row numbers in its errors; repeated unit ids across
chunks are refused after the last chunk, naming the first repeating row, so a consumer that
writes atomically (learners.instance_writer) leaves nothing behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from formulations.experiment_data import (
    FeatureTable,
    _err,
    _Manifest,
    check_unique_ids,
    features_from_frame,
)
from formulations.instance_file import PARQUET_SUFFIXES, is_parquet

CHUNK_ROWS = 500_000


@dataclass(frozen=True)
class FeatureChunks:
    """The units and features of a Parquet table, as FeatureTables of consecutive rows."""

    name: str
    path: Path
    features: tuple[str, ...]
    unit: str | None
    n_units: int
    source: str
    chunk_rows: int = CHUNK_ROWS

    def chunks(self) -> Iterator[FeatureTable]:
        """Consecutive chunks in table order; raises on the first bad row, or after the last
        chunk on a unit id that repeats across chunks."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = [*self.features, *([self.unit] if self.unit else [])]
        # ids that rise strictly through the table (row numbers, sequences) cannot repeat: then
        # nothing is kept; otherwise the unit column is read once more at the end and checked
        # whole (at 10^8 ids, keeping them all would cost 0.8 GB and the check 3 GB)
        rising, last = True, None
        start = 0
        # file by file with ParquetFile.iter_batches: pyarrow.dataset's scanner kept every
        # batch it had read in its memory pool (1.3 GiB after a 10^7-row table, against 0.5)
        for file in part_files(self.path):
            with pq.ParquetFile(file, pre_buffer=False) as reader:
                for batch in reader.iter_batches(batch_size=self.chunk_rows, columns=columns):
                    if batch.num_rows == 0:
                        continue
                    frame = pa.Table.from_batches([batch]).to_pandas()
                    part = features_from_frame(frame, features=self.features, unit=self.unit,
                                               name=self.name, source=self.source,
                                               row_offset=start, unique=False)
                    if self.unit and rising:
                        rising, last = still_rising(part.unit_ids, last)
                    start += batch.num_rows
                    yield part
        if self.unit and not rising:
            self.check_unique_units()

    def check_unique_units(self) -> None:
        """Read the unit column alone, whole, and raise on the first id that repeats."""
        import pyarrow.parquet as pq

        assert self.unit is not None
        whole = np.concatenate([
            pq.read_table(f, columns=[self.unit]).column(0).to_numpy(zero_copy_only=False)
            for f in part_files(self.path)])
        check_unique_ids(whole, self.unit, self.source)


def still_rising(ids: np.ndarray, last: object) -> tuple[bool, object]:
    """Whether ``ids`` rise strictly and start above ``last`` (the previous chunk's last id)."""
    if ids.dtype.kind not in "iu" or ids.size == 0:
        return False, None
    if last is not None and not ids[0] > last:
        return False, None
    return bool(np.all(ids[1:] > ids[:-1])), ids[-1]


def part_files(path: Path) -> list[Path]:
    """A Parquet file, or a folder's Parquet files in name order (the order pandas reads them),
    skipping hidden and ``_``-prefixed files as pyarrow does (the Dask backend's parts too)."""
    if not path.is_dir():
        return [path]
    return sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() in
                  PARQUET_SUFFIXES and not f.name.startswith((".", "_")))


def open_feature_chunks(
    path: str | os.PathLike[str],
    *,
    features: Sequence[str],
    unit: str | None = None,
    name: str = "data",
    source: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> FeatureChunks:
    """Check the table's columns and count its rows (from the Parquet metadata), read nothing
    else: a missing column fails here, before any work."""
    import pyarrow.parquet as pq

    src = source or str(path)
    p = Path(path)
    if not p.exists():
        raise _err(src, "table", f"table file {str(p)!r} not found")
    if not features:
        raise _err(src, "features", "no feature columns named")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows: expected a positive number of rows, got {chunk_rows}")
    files = part_files(p)
    if not files:
        raise _err(str(p), "", "no Parquet parts (.parquet, .pq) in the folder")
    try:
        metas = [pq.read_metadata(f) for f in files]
    except (OSError, ValueError) as e:
        raise _err(str(p), "", f"cannot read table: {str(e).splitlines()[0]}") from None
    names = list(metas[0].schema.to_arrow_schema().names)
    for f, md in zip(files[1:], metas[1:], strict=True):
        other = list(md.schema.to_arrow_schema().names)
        if other != names:
            raise _err(str(f), "", f"its columns {other} differ from those of "
                                   f"{files[0].name!r}: {names}")
    n = sum(int(md.num_rows) for md in metas)
    wanted = [(f, "missing feature") for f in features]
    wanted += [(unit, "missing (the unit ids)")] if unit else []
    for col, what in wanted:
        if col not in names:
            raise _err(str(p), f"column {col!r}", f"{what}; the table has columns {names}")
    if n == 0:
        raise _err(str(p), "", "the table is empty: expected one row per unit")
    return FeatureChunks(name=name, path=p, features=tuple(features), unit=unit, n_units=n,
                         source=str(p), chunk_rows=chunk_rows)


def manifest_feature_chunks(
    path: str | os.PathLike[str], *, chunk_rows: int = CHUNK_ROWS
) -> FeatureChunks | None:
    """The manifest's table as chunks where it is Parquet; None for a CSV table (read whole by
    load_features)."""
    mf = _Manifest(path)
    features = mf.names("features")
    if not features:
        raise _err(mf.src, "features", "missing: expected an array of feature column names")
    table = mf.path.parent / mf.text("table")
    if not is_parquet(table):
        return None
    return open_feature_chunks(table, features=features, unit=mf.text("unit", required=False),
                               name=mf.name, source=mf.src, chunk_rows=chunk_rows)
