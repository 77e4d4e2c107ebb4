"""Refuse a partitioned instance where one unit's rows are split across two Parquet parts.

Every task of the Dask backend sees one part, so a unit whose options lie in two parts would be
solved as two units (two options chosen for it). engine/distributed/parts.py's reader catches a
duplicate (unit, option) inside a part only; this module checks across parts, without the unit
ids ever meeting on the driver:

1. every part reports the least and greatest of its unit ids (integers or strings); when the
   parts' ranges do not overlap (parts written in unit order, as parts.py writes them), no unit
   can be in two parts and the check ends there;
2. otherwise every part hashes its distinct unit ids into as many buckets as there are parts,
   and one task per bucket looks for an id that comes from two parts. The driver receives at
   most one (unit, part, part) per bucket.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from formulations.errors import InstanceError


def unit_ids_of(handle: Any, unit_column: str) -> np.ndarray:
    """The distinct unit ids of a partition (a prepared one, a chunk, or a part's path)."""
    chunk = getattr(handle, "chunk", handle)
    if isinstance(handle, str):
        import pyarrow.parquet as pq

        col = pq.read_table(handle, columns=[unit_column]).column(unit_column)
        ids = col.to_numpy()
    else:
        ids = chunk.unit_ids
    return np.asarray(pd.unique(pd.Series(ids)))


def task_unit_range(handle: Any, unit_column: str) -> tuple[Any, Any, int] | None:
    ids = unit_ids_of(handle, unit_column)
    if ids.size == 0:
        return None
    if ids.dtype.kind in "iuf":
        return ids.min().item(), ids.max().item(), int(ids.size)
    s = pd.Series(ids).astype(str)
    return str(s.min()), str(s.max()), int(ids.size)


def task_unit_buckets(handle: Any, unit_column: str, n_buckets: int) -> list[np.ndarray]:
    ids = unit_ids_of(handle, unit_column)
    if ids.dtype.kind not in "iu":
        ids = pd.Series(ids).astype(str).to_numpy()
    h = pd.util.hash_array(ids) % np.uint64(n_buckets)
    order = np.argsort(h, kind="stable")
    cuts = np.searchsorted(h[order], np.arange(1, n_buckets, dtype=np.uint64))
    return np.split(ids[order], cuts)


def task_pick(buckets: list[np.ndarray], b: int) -> np.ndarray:
    return buckets[b]


def task_bucket_duplicate(*pieces: np.ndarray) -> tuple[Any, int, int] | None:
    """The first unit id found in two parts' pieces of one bucket: (id, part, part)."""
    sizes = [p.size for p in pieces]
    if sum(sizes) == 0:
        return None
    ids = pd.Series(np.concatenate([np.asarray(p, dtype=object) for p in pieces]))
    part = np.repeat(np.arange(len(pieces)), sizes)
    dup = ids.duplicated(keep=False).to_numpy()
    if not dup.any():
        return None
    first = ids[dup].iloc[0]
    where = part[dup & (ids == first).to_numpy()]
    uid = first.item() if hasattr(first, "item") else first
    return uid, int(where[0]), int(where[1])


def check_units_in_one_part(client: Any, handles: list[Any], part_names: list[str],
                            unit_column: str) -> dict[str, Any]:
    """Raise InstanceError naming a unit and the two parts that both hold rows of it.

    Returns what the check did (``{"unit_check": "ranges" | "hash"}``) for the result's detail.
    """
    if len(handles) < 2:
        return {"unit_check": "one part"}
    ranges = client.gather(client.map(task_unit_range, handles, unit_column=unit_column,
                                      pure=False))
    known = [(r[0], r[1], i) for i, r in enumerate(ranges) if r is not None]
    try:
        known.sort(key=lambda x: x[0])
        disjoint = all(a[1] < b[0] for a, b in itertools.pairwise(known))
    except TypeError:  # ids of mixed kinds across parts: compare by hash instead
        disjoint = False
    if disjoint:
        return {"unit_check": "ranges"}
    n = len(handles)
    buckets = client.map(task_unit_buckets, handles, unit_column=unit_column, n_buckets=n,
                         pure=False)
    found = client.gather([
        client.submit(task_bucket_duplicate,
                      *[client.submit(task_pick, f, b, pure=False) for f in buckets],
                      pure=False)
        for b in range(n)
    ])
    for hit in found:
        if hit is not None:
            uid, a, b = hit
            raise InstanceError(
                part_names[a], f"column {unit_column!r}",
                f"unit {uid!r} has rows in two parts, {part_names[a]!r} and {part_names[b]!r}; "
                "expected every unit's rows in one part (the dask backend solves each part on "
                "its own)",
            )
    return {"unit_check": "hash"}
