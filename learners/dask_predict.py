"""``treatalloc predict --parts N --backend dask``: the parts predicted and written by Dask workers.

:func:`learners.instance_writer.write_predictions` streams the features through one process.
Here the Parquet features (a file or a folder of parts) are cut into N ranges of
``ceil(n / N)`` consecutive rows, placed on the row groups whose sizes the Parquet footers give
without reading any data; each range is one task, as ``dask.dataframe.map_partitions`` would
make one per partition, but with the boundaries chosen by rows so that the N output parts are
the N ranges: a worker reads only the row groups its range touches, a record batch at a time,
stopping at the range's end, predicts it with the model (loaded once per
worker process from the model folder, never shipped by the driver) and writes its own part
``options/part-NNNNN.parquet``. The driver holds the plan and one summary per part (units,
first and last id, the predicted all-max spend); no feature or prediction passes through it.

The result is the one-process stream's, row for row (tests/learners/test_dask_predict.py): the
same rows in the same parts, checked the same way (the table's own row numbers in every error,
a unit id repeated across parts refused after the fact), and the folder appears only when every
part is written (formulations.atomic_write.atomic_dir, on a file system the workers share).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from formulations.atomic_write import atomic_dir
from formulations.errors import UsageError
from formulations.experiment_data import features_from_frame
from formulations.feature_chunks import FeatureChunks, part_files, still_rising
from learners.instance_writer import WrittenInstance, append_parquet, table_rows, write_manifest
from learners.provider import incremental


@dataclass(frozen=True)
class RowRange:
    """Rows ``start .. start + n`` of the table: (file, row group, first, end) pieces, the
    rows of each piece local to its row group."""

    start: int
    n: int
    pieces: tuple[tuple[str, int, int, int], ...]


def plan_ranges(chunks: FeatureChunks, parts: int) -> list[RowRange]:
    """The table cut into ``parts`` ranges of ``ceil(n / parts)`` consecutive rows (the last
    shorter; fewer ranges where there are fewer rows), as the one-process writer cuts parts."""
    import pyarrow.parquet as pq

    groups: list[tuple[str, int, int, int]] = []  # (file, group, global first row, rows)
    at = 0
    for f in part_files(chunks.path):
        md = pq.read_metadata(f)
        for g in range(md.num_row_groups):
            rows = int(md.row_group(g).num_rows)
            if rows:
                groups.append((str(f), g, at, rows))
                at += rows
    size = max(1, math.ceil(at / parts))
    out = []
    for lo in range(0, at, size):
        hi = min(at, lo + size)
        pieces = tuple((f, g, max(lo, first) - first, min(hi, first + rows) - first)
                       for f, g, first, rows in groups if first < hi and first + rows > lo)
        out.append(RowRange(lo, hi - lo, pieces))
    return out


@dataclass(frozen=True)
class PartSummary:
    """What the driver learns of a written part."""

    n_units: int
    all_max_spend: float
    first: Any
    last: Any
    rising: bool


_MODELS: dict[tuple[str, tuple[str, ...], int], Any] = {}


def _model(model_dir: str, trusted: tuple[str, ...]) -> Any:
    """The model of ``model_dir``, loaded once per worker process (again where a file of the
    folder changed: a long-lived cluster may see a model refitted into the same folder)."""
    from learners.saved import load_model

    stamp = max((f.stat().st_mtime_ns for f in Path(model_dir).iterdir()), default=0)
    key = (model_dir, trusted, stamp)
    if key not in _MODELS:
        _MODELS[key] = load_model(model_dir, trusted=trusted)
    return _MODELS[key]


def task_predict_range(rr: RowRange, target: str, *, model_dir: str, trusted: tuple[str, ...],
                       chunks: FeatureChunks, threads: int) -> PartSummary:
    """Predict one range, a record batch at a time, into the Parquet file ``target``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if threads > 0:
        import torch

        # one worker per core: torch's own threads on top would oversubscribe the machine
        torch.set_num_threads(threads)
    provider = _model(model_dir, trusted)
    arms = tuple(provider.arms)
    columns = [*chunks.features, *([chunks.unit] if chunks.unit else [])]
    writer: Any = None
    top, done = 0.0, 0
    rising, last, first = True, None, None
    try:
        for file, group, lo, hi in rr.pieces:
            with pq.ParquetFile(file, pre_buffer=False) as reader:
                seen = 0
                for batch in reader.iter_batches(batch_size=chunks.chunk_rows,
                                                 row_groups=[group], columns=columns):
                    b_lo, b_hi = max(lo - seen, 0), min(hi - seen, batch.num_rows)
                    seen += batch.num_rows
                    if b_hi <= b_lo:
                        if seen >= hi:
                            break  # past the range: the rest of the group is another's
                        continue
                    frame = pa.Table.from_batches([batch.slice(b_lo, b_hi - b_lo)]).to_pandas()
                    part = features_from_frame(frame, features=chunks.features,
                                               unit=chunks.unit, name=chunks.name,
                                               source=chunks.source,
                                               row_offset=rr.start + done, unique=False)
                    done += part.n_units
                    ids = np.asarray(part.unit_ids)
                    if first is None and ids.size:
                        first = ids[0]
                    if rising:
                        rising, last = still_rising(ids, last)
                    inc_v, inc_c = incremental(*provider.predict(part))
                    rows = np.arange(inc_v.shape[0])
                    top += float(inc_c[rows, np.argmax(inc_v, axis=1)].sum())
                    writer = append_parquet(writer, Path(target),
                                            table_rows(inc_v, inc_c, ids, arms), arms)
    finally:
        if writer is not None:
            writer.close()
    return PartSummary(done, top, first, last, rising and first is not None)


def write_predictions_dask(
    model_dir: str | os.PathLike[str],
    chunks: FeatureChunks,
    limit: float,
    out: str | os.PathLike[str],
    *,
    parts: int,
    dask_options: dict[str, Any] | None = None,
    trusted: tuple[str, ...] = (),
    name: str | None = None,
    force: bool = False,
    provider: Any = None,
) -> WrittenInstance:
    """:func:`learners.instance_writer.write_predictions` with ``parts`` on Dask workers.

    ``dask_options``: engine.distributed.cluster.dask_client's (``scheduler``, ``client``,
    ``n_workers``, ``threads_per_worker``); on a LocalCluster started here each worker runs
    torch on its ``threads_per_worker`` threads only. ``provider``: the model already loaded
    here (for its arms and method), else it is loaded from ``model_dir``.

    Every path given to the workers is absolute (a scheduler's workers may run elsewhere);
    where tasks fail, all are waited for before the folder is removed, and the error raised is
    that of the first failing range in table order, as the one-process stream would raise."""
    from engine.distributed.cluster import dask_client
    from learners.saved import load_model

    if parts < 1:
        raise UsageError(f"parts: expected a positive number of Parquet parts, got {parts}")
    if provider is None:
        provider = load_model(model_dir, trusted=trusted)
    chunks = replace(chunks, path=chunks.path.resolve())
    opts = dict(dask_options or {})
    # torch's threads are set only in the worker processes of a LocalCluster started here: a
    # given cluster may run its workers in this very process (processes=False)
    own = not opts.get("scheduler") and opts.get("client") is None
    threads = int(opts.get("threads_per_worker", 1)) if own else 0
    ranges = plan_ranges(chunks, parts)
    with atomic_dir(out, replace=force) as tmp:
        folder = tmp.resolve() / "options"
        folder.mkdir()
        targets = [str(folder / f"part-{i:05d}.parquet") for i in range(len(ranges))]
        with dask_client(opts) as client:
            futures = client.map(task_predict_range, ranges, targets, pure=False,
                                 model_dir=str(Path(model_dir).resolve()), trusted=trusted,
                                 chunks=chunks, threads=threads)
            got = _results_in_order(futures)
        if chunks.unit and not _ranges_rise(got):
            chunks.check_unique_units()
        write_manifest(tmp, provider, name or f"{provider.method}_{chunks.name}", "options",
                       limit)
    n = sum(p.n_units for p in got)
    return WrittenInstance(Path(out), n, n * len(provider.arms), float(limit),
                           sum(p.all_max_spend for p in got))


def _results_in_order(futures: list[Any]) -> list[PartSummary]:
    """Every task's summary; where some failed, the error of the first in table order, raised
    once no task is still writing into the folder."""
    from distributed import wait

    wait(futures)
    for f in futures:
        if f.status == "error":
            f.result()  # raises the task's own exception
    return [f.result() for f in futures]


def _ranges_rise(got: list[PartSummary]) -> bool:
    """True when every part's ids rise and each part starts above the one before (then no id
    can repeat); else the ids must be checked whole."""
    last = None
    for p in got:
        if not p.rising or (last is not None and not p.first > last):
            return False
        last = p.last
    return True
