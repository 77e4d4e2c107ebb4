"""Partitioned Parquet instances: the manifest header read on the driver, and one part per task.

An instance whose ``table`` is a folder of Parquet files (v1 format) is solved part by part: the
driver reads only the TOML manifest (:func:`read_header`), and each worker reads its own part
(:func:`read_part`) into dense per-unit arrays, the layout the kernels of engine/dual/kernels.py
take. Every unit's rows must lie in one part (parts written by :func:`write_synthetic_parts` or
:func:`write_instance_parts` do); rows inside a part may come in any order.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.dual.arrays import flush_subnormal
from formulations.errors import InstanceError, UsageError
from formulations.instance import (
    CHOOSE_MODES,
    Budget,
    Capacity,
    Columns,
    Instance,
    Reference,
)
from formulations.instance_file import (
    PARQUET_SUFFIXES,
    TOP_KEYS,
    _check_keys,
    _parse_budgets,
    _str,
    manifest_dict,
    manifest_path,
    read_manifest,
)

PART_SUFFIXES = PARQUET_SUFFIXES


@dataclass(frozen=True)
class PartsHeader:
    """What the driver knows of a partitioned instance: the manifest and the part file names."""

    manifest: str
    name: str
    parts: tuple[str, ...]
    columns: Columns
    budgets: tuple[Budget, ...]
    capacities: tuple[Capacity, ...]
    choose: str
    reference: Reference | None

    @property
    def n_budgets(self) -> int:
        return len(self.budgets)

    @property
    def limits(self) -> np.ndarray:
        return np.array([b.limit for b in self.budgets], dtype=np.float64)

    @property
    def cost_columns(self) -> tuple[str, ...]:
        return tuple(b.column or b.name for b in self.budgets)


def list_parts(table: Path, src: str) -> tuple[str, ...]:
    """The Parquet files of a table: the file itself, or a folder's files in name order."""
    if not table.exists():
        raise InstanceError(src, "table", f"table {str(table)!r} not found")
    if table.is_file():
        if table.suffix.lower() not in PART_SUFFIXES:
            raise InstanceError(
                src, "table",
                f"the dask backend reads Parquet (a file or a folder of parts), got {table.name!r}",
            )
        return (str(table.resolve()),)
    from formulations.feature_chunks import part_files

    files = [str(p.resolve()) for p in part_files(table)]
    if not files:
        raise InstanceError(src, "table", f"no .parquet files in the folder {str(table)!r}")
    return tuple(files)


def read_header(path: str | os.PathLike[str]) -> PartsHeader:
    """Read only the manifest (and list the part files); never the table itself."""
    p = manifest_path(path)
    src = str(p)
    m = read_manifest(p)
    _check_keys(src, "", m, TOP_KEYS)
    if m.get("kind", "mckp") != "mckp":
        raise InstanceError(src, "kind", f"expected 'mckp', got {m.get('kind')!r}")
    if "scenarios" in m:
        raise UsageError(f"{src}: the dask backend solves one scenario; drop [[scenarios]]")
    choose = m.get("choose", "exactly-one")
    if choose not in CHOOSE_MODES:
        raise InstanceError(src, "choose", f"expected one of {list(CHOOSE_MODES)}, got {choose!r}")
    budgets, dists = _parse_budgets(src, m.get("budgets", []))
    if dists:
        raise UsageError(f"{src}: the dask backend solves one scenario; drop the distribution")
    caps = []
    for i, c in enumerate(m.get("capacities", []) or []):
        if not isinstance(c, dict) or "option" not in c or "limit" not in c:
            raise InstanceError(src, f"capacities[{i}]", "expected a table with option and limit")
        caps.append(Capacity(str(c["option"]), float(c["limit"])))
    reference = None
    r = m.get("reference")
    if isinstance(r, dict) and "objective" in r:
        reference = Reference(float(r["objective"]), bool(r.get("proven", False)),
                              str(r.get("source", "")))
    table = p.parent / _str(src, "table", m.get("table"))
    return PartsHeader(
        manifest=str(p.resolve()),
        name=str(m.get("name", p.parent.name)),
        parts=list_parts(table, src),
        columns=Columns(
            unit=_str(src, "unit", m.get("unit", "unit")),
            option=_str(src, "option", m.get("option", "option")),
            value=_str(src, "value", m.get("value", "value")),
        ),
        budgets=tuple(budgets),
        capacities=tuple(caps),
        choose=choose,
        reference=reference,
    )


@dataclass(frozen=True, eq=False)
class Chunk:
    """One partition as dense arrays: units in first-appearance order, options padded.

    value (n, M) with -inf padding; costs (K, n, M) with 0 padding; codes (n, M) int32 index
    into ``labels`` (-1 padding); unit_ids (n,).
    """

    unit_ids: np.ndarray
    value: np.ndarray
    costs: np.ndarray
    codes: np.ndarray
    labels: tuple[str, ...]

    @property
    def n_units(self) -> int:
        return int(self.value.shape[0])

    @property
    def n_rows(self) -> int:
        return int(np.count_nonzero(self.codes >= 0))

    @property
    def valid(self) -> np.ndarray:
        return self.codes >= 0


def _finite(arr: np.ndarray, src: str, col: str) -> None:
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise InstanceError(
            src, f"row {i + 1}, column {col!r}", f"expected a finite number, found {arr[i]!r}"
        )


def _option_codes(column: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes and labels of an Arrow column (dictionary columns are not turned into strings)."""
    import pyarrow as pa

    col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(col.type):
        codes = col.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        labels = [str(x) for x in col.dictionary.to_pylist()]
        if col.null_count:
            raise InstanceError("", "option", "empty option id")
        # dictionaries may hold equal labels twice or unused entries: renumber by label
        uniq, inverse = np.unique(np.asarray(labels, dtype=object), return_inverse=True)
        return inverse[codes].astype(np.int32), tuple(str(u) for u in uniq)
    s = pd.Series(col.to_numpy(zero_copy_only=False))
    if s.isna().any():
        raise InstanceError("", "option", "empty option id")
    fcodes, funiq = pd.factorize(s.astype(str), sort=True)
    return fcodes.astype(np.int32), tuple(str(u) for u in funiq)


def chunk_from_arrays(
    units: np.ndarray,
    codes: np.ndarray,
    labels: tuple[str, ...],
    value: np.ndarray,
    costs: np.ndarray,
    src: str = "",
) -> Chunk:
    """Group flat rows (any order) by unit into a dense Chunk; duplicates are an error."""
    value, costs = flush_subnormal(value), flush_subnormal(costs)  # as engine.dual.arrays
    n_rows = units.shape[0]
    if n_rows == 0:
        k = costs.shape[0]
        return Chunk(units[:0], np.zeros((0, 1)), np.zeros((k, 0, 1)), np.zeros((0, 1), np.int32),
                     labels)
    if units.dtype.kind in "iu" and n_rows > 1 and bool(np.all(units[1:] >= units[:-1])):
        # already grouped and sorted (parts written by this module): no hashing needed
        starts = np.concatenate([[True], units[1:] != units[:-1]])
        unit_codes = np.cumsum(starts) - 1
        order = None
        uniq = units[starts]
    else:
        unit_codes, uniq_idx = pd.factorize(pd.Series(units), sort=False)
        uniq = np.asarray(uniq_idx)
        order = np.argsort(unit_codes, kind="stable")
        unit_codes = unit_codes[order]
    n = int(uniq.shape[0])
    counts = np.bincount(unit_codes, minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    local = np.arange(n_rows, dtype=np.int64) - np.repeat(offsets[:-1], counts)
    m = int(counts.max())
    k = costs.shape[0]
    c_sorted = codes if order is None else codes[order]
    # duplicates: the same option twice for a unit
    key = unit_codes.astype(np.int64) * max(1, len(labels)) + c_sorted
    # (np.unique hashes integers in numpy 2.x and is pathologically slow on sorted keys)
    if not bool(np.all(key[1:] > key[:-1])) and bool(np.any(np.diff(np.sort(key)) == 0)):
        dup = pd.Series(key).duplicated().to_numpy()
        i = int(np.flatnonzero(dup)[0])
        raise InstanceError(
            src, "rows", f"duplicate (unit, option) = ({uniq[unit_codes[i]]!r}, "
            f"{labels[c_sorted[i]]!r}); expected each pair once within a part (and each unit in "
            "one part)"
        )
    if bool(np.all(counts == m)):
        vd = (value if order is None else value[order]).reshape(n, m)
        cd = (costs if order is None else costs[:, order]).reshape(k, n, m)
        od = c_sorted.reshape(n, m).astype(np.int32)
        return Chunk(uniq, np.ascontiguousarray(vd), np.ascontiguousarray(cd), od, labels)
    vd = np.full((n, m), -np.inf)
    cd = np.zeros((k, n, m))
    od = np.full((n, m), -1, dtype=np.int32)
    vd[unit_codes, local] = value if order is None else value[order]
    cd[:, unit_codes, local] = costs if order is None else costs[:, order]
    od[unit_codes, local] = c_sorted
    return Chunk(uniq, vd, cd, od, labels)


def part_chunk(handle: Chunk | str, header: PartsHeader | None) -> Chunk:
    """A task's partition as a Chunk: a scattered chunk as it is, a part path read with the
    manifest header."""
    if not isinstance(handle, str):
        return handle
    if header is None:  # pragma: no cover - paths come with a header
        raise UsageError("internal: a part path without its manifest header")
    return read_part(handle, header)


def read_part(path: str, header: PartsHeader) -> Chunk:
    """Read one Parquet part (only the needed columns) into a dense Chunk."""
    import pyarrow.parquet as pq

    cols = header.columns
    needed = [cols.unit, cols.option, cols.value, *header.cost_columns]
    try:
        schema_names = pq.read_schema(path).names
    except (OSError, ValueError) as e:
        raise InstanceError(path, "", f"cannot read Parquet: {e}") from None
    missing = [c for c in dict.fromkeys(needed) if c not in schema_names]
    if missing:
        raise InstanceError(path, f"column {missing[0]!r}", f"missing; the part has {schema_names}")
    table = pq.read_table(path, columns=list(dict.fromkeys(needed)))
    if table.column(cols.unit).null_count:
        raise InstanceError(path, f"column {cols.unit!r}", "empty unit id")
    units = table.column(cols.unit).to_numpy()
    try:
        codes, labels = _option_codes(table.column(cols.option))
    except InstanceError as e:
        raise InstanceError(path, f"column {cols.option!r}", e.problem) from None
    value = table.column(cols.value).to_numpy().astype(np.float64, copy=False)
    _finite(value, path, cols.value)
    costs = np.empty((header.n_budgets, table.num_rows))
    for k, c in enumerate(header.cost_columns):
        costs[k] = table.column(c).to_numpy()
        _finite(costs[k], path, c)
    del table
    return chunk_from_arrays(units, codes, labels, value, costs, src=path)


def part_rows(path: str) -> int:
    """Row count from the Parquet footer (no data read)."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def chunk_instance(chunk: Chunk, header: PartsHeader, name: str = "part") -> Instance:
    """A chunk as an in-memory Instance (for tests and small parts)."""
    valid = chunk.valid
    counts = valid.sum(axis=1)
    offsets = np.zeros(chunk.n_units + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return Instance(
        name=name, unit_ids=chunk.unit_ids, offsets=offsets,
        option_codes=chunk.codes[valid].astype(np.int32), option_labels=chunk.labels,
        value=chunk.value[valid], costs=chunk.costs[:, valid], budgets=header.budgets,
        capacities=header.capacities, choose=header.choose,  # type: ignore[arg-type]
        columns=header.columns,
    )


# --- writing partitioned instances ---------------------------------------------------------------


def _write_part(path: Path, units: np.ndarray, codes: np.ndarray, labels: Sequence[str],
                value: np.ndarray, costs: np.ndarray, columns: Columns,
                cost_columns: Sequence[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    option = pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32)), pa.array(list(labels), type=pa.string())
    )
    arrays = {columns.unit: pa.array(units), columns.option: option,
              columns.value: pa.array(value)}
    for k, c in enumerate(cost_columns):
        arrays[c] = pa.array(costs[k])
    pq.write_table(pa.table(arrays), path, compression="snappy")


class _PartsFolder:
    """Write parts into a hidden temporary folder, then move it into place in one rename."""

    def __init__(self, manifest: Path, table: str) -> None:
        self.manifest = manifest
        self.target = manifest.parent / table
        manifest.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.", dir=manifest.parent))

    def part(self, i: int) -> Path:
        return self.tmp / f"part-{i:05d}.parquet"

    def commit(self, manifest_text: str) -> None:
        from formulations.atomic_write import atomic_write_text

        old = None
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.old")
            if old.exists():
                shutil.rmtree(old)
            self.target.rename(old)
        self.tmp.rename(self.target)
        atomic_write_text(self.manifest, manifest_text)
        if old is not None:
            shutil.rmtree(old)

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _manifest_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    return p if p.suffix == ".toml" else p / "instance.toml"


def write_instance_parts(
    instance: Instance, path: str | os.PathLike[str], *, units_per_part: int = 100_000,
    table: str = "parts",
) -> Path:
    """Write an in-memory instance as a manifest plus a folder of Parquet parts."""
    import tomli_w

    if units_per_part < 1:
        raise UsageError(f"units_per_part: expected >= 1, got {units_per_part}")
    manifest = _manifest_path(path)
    folder = _PartsFolder(manifest, table)
    cost_cols = [b.column or b.name for b in instance.budgets]
    try:
        for i, start in enumerate(range(0, instance.n_units, units_per_part)):
            stop = min(start + units_per_part, instance.n_units)
            r0, r1 = int(instance.offsets[start]), int(instance.offsets[stop])
            counts = instance.counts[start:stop]
            _write_part(
                folder.part(i), np.repeat(instance.unit_ids[start:stop], counts),
                instance.option_codes[r0:r1], instance.option_labels, instance.value[r0:r1],
                instance.costs[:, r0:r1], instance.columns, cost_cols,
            )
        m = manifest_dict(instance, f"{table}/")
        folder.commit(tomli_w.dumps(m))
    except BaseException:
        folder.abort()
        raise
    return manifest


def write_synthetic_parts(
    path: str | os.PathLike[str],
    n_users: int,
    n_treatments: int = 5,
    n_budgets: int = 1,
    *,
    seed: int = 0,
    users_per_part: int = 1_000_000,
    budget_fraction: float = 0.3,
    choose: str = "exactly-one",
    name: str | None = None,
    table: str = "parts",
) -> Path:
    """Write a synthetic instance of ``n_users`` directly as Parquet parts, one chunk at a time.

    Each part is ``formulations.synthetic.synthetic_arrays`` for its users with a seed derived
    from (seed, part), so memory stays at one part however large ``n_users`` is. The budget
    limit (``budget_fraction`` of the spend at everyone's most expensive option) is summed as the
    parts are written, and the manifest is written last.
    """
    import tomli_w

    from formulations.synthetic import synthetic_arrays

    if n_users < 1 or users_per_part < 1:
        raise UsageError(
            f"n_users and users_per_part: expected >= 1, got {n_users}, {users_per_part}"
        )
    if choose not in CHOOSE_MODES:
        raise UsageError(f"choose: expected one of {CHOOSE_MODES}, got {choose!r}")
    manifest = _manifest_path(path)
    folder = _PartsFolder(manifest, table)
    labels = ["control"] + [f"coupon_{j}" for j in range(1, n_treatments)]
    names = ["cash"] if n_budgets == 1 else [f"budget_{k}" for k in range(n_budgets)]
    columns = Columns()
    max_spend = np.zeros(n_budgets)
    n_parts = -(-n_users // users_per_part)
    seeds = np.random.SeedSequence(seed).spawn(n_parts)
    try:
        for i in range(n_parts):
            start = i * users_per_part
            n = min(users_per_part, n_users - start)
            part_seed = int(seeds[i].generate_state(1)[0])
            value, costs = synthetic_arrays(n, n_treatments, n_budgets, seed=part_seed)
            max_spend += costs.max(axis=2).sum(axis=1)
            units = np.repeat(np.arange(start, start + n, dtype=np.int64), n_treatments)
            codes = np.tile(np.arange(n_treatments, dtype=np.int32), n)
            _write_part(folder.part(i), units, codes, labels, value.reshape(-1),
                        costs.reshape(n_budgets, -1), columns, names)
            del value, costs, units, codes
        limits = budget_fraction * max_spend
        m: dict[str, Any] = {
            "name": name or f"synthetic_parts_{n_users}x{n_treatments}x{n_budgets}",
            "description": f"synthetic: {n_users} users, {n_treatments} treatments incl. control, "
            f"{n_budgets} budget(s) at {budget_fraction:g} of max spend, seed {seed}, "
            f"{n_parts} Parquet parts of {users_per_part} users",
            "table": f"{table}/", "unit": columns.unit, "option": columns.option,
            "value": columns.value, "choose": choose,
            "budgets": [{"name": nm, "column": nm, "limit": float(lim)}
                        for nm, lim in zip(names, limits, strict=True)],
        }
        folder.commit(tomli_w.dumps(m))
    except BaseException:
        folder.abort()
        raise
    return manifest
