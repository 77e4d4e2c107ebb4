"""Read and write instance files (v1): a TOML manifest plus a CSV / Parquet table.

See ARCHITECTURE.md, "Instance file format (v1)". Every error names the file, the key or row,
what was expected and what was found.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from formulations.atomic_write import atomic_write_frame, atomic_write_text
from formulations.distributions import discretise
from formulations.errors import InstanceError, UsageError
from formulations.instance import (
    CHOOSE_MODES,
    Budget,
    Capacity,
    Columns,
    Instance,
    Reference,
    Scenario,
)

TOP_KEYS = {
    "name",
    "description",
    "table",
    "unit",
    "option",
    "value",
    "choose",
    "kind",
    "budgets",
    "capacities",
    "reference",
    "scenarios",
}
BUDGET_KEYS = {"name", "column", "limit", "distribution"}
CAPACITY_KEYS = {"option", "limit"}
REFERENCE_KEYS = {"objective", "proven", "source"}
SCENARIO_KEYS = {"probability", "limits"}
PROB_TOL = 1e-9


def _one_line(e: BaseException) -> str:
    """Library messages can span lines; the CLI promises one line per error."""
    return " ".join(str(e).split())


def _number(src: str, where: str, v: Any, *, nonneg: bool = False) -> float:
    if v is None:
        raise InstanceError(src, where, "missing: expected a finite number")
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise InstanceError(src, where, f"expected a finite number, got {v!r}")
    if nonneg and v < 0:
        raise InstanceError(src, where, f"expected a number >= 0, got {v!r}")
    return float(v)


def _str(src: str, where: str, v: Any) -> str:
    if v is None:
        raise InstanceError(src, where, "missing: expected a non-empty string")
    if not isinstance(v, str) or not v:
        raise InstanceError(src, where, f"expected a non-empty string, got {v!r}")
    return v


def _check_keys(src: str, where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InstanceError(
            src,
            f"{where}{unknown[0]}" if where else unknown[0],
            f"unknown key; expected one of {sorted(allowed)}",
        )


def manifest_path(path: str | os.PathLike[str], default_name: str = "instance.toml") -> Path:
    """The manifest a user means: the path itself, or ``default_name`` inside a folder."""
    p = Path(path)
    return p / default_name if p.is_dir() else p


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = manifest_path(path)
    if not p.exists():
        raise InstanceError(str(p), "", "file not found")
    try:
        with p.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise InstanceError(str(p), "", f"malformed TOML: {_one_line(e)}") from None
    except UnicodeDecodeError as e:
        raise InstanceError(str(p), "", f"not UTF-8 text: {_one_line(e)}") from None
    except OSError as e:
        raise InstanceError(str(p), "", f"cannot read: {_one_line(e)}") from None


PARQUET_SUFFIXES = (".parquet", ".pq")


def is_parquet(path: str | os.PathLike[str]) -> bool:
    """A Parquet file by its suffix, or a folder (of Parquet parts)."""
    p = Path(path)
    return p.is_dir() or p.suffix.lower() in PARQUET_SUFFIXES


def read_table(path: Path, src: str, text_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a CSV, a Parquet file, or a folder of Parquet parts.

    ``text_columns`` (ids) are read from a CSV as text, as written: type inference would turn
    the ids "007" and "7" into the same unit 7. Parquet keeps the types it stores.
    """
    if not path.exists():
        raise InstanceError(src, "table", f"table file {str(path)!r} not found")
    try:
        if is_parquet(path):
            return pd.read_parquet(path)
        if path.suffix.lower() in (".csv", ".gz", ".txt"):
            return pd.read_csv(path, dtype=dict.fromkeys(text_columns, str))
    except pd.errors.EmptyDataError:
        raise InstanceError(
            str(path), "", "the table is empty: expected a header and one row per (unit, option)"
        ) from None
    except (ValueError, OSError, pd.errors.ParserError) as e:
        raise InstanceError(str(path), "", f"cannot read table: {_one_line(e)}") from None
    raise InstanceError(
        src, "table", f"expected a .csv, .parquet or a folder of Parquet parts, got {path.name!r}"
    )


def _row_label(table_path: str, df: pd.DataFrame, pos: int) -> str:
    line = f" (line {pos + 2})" if table_path.lower().endswith(".csv") else ""
    return f"row {pos + 1}{line}"


def _numeric_column(df: pd.DataFrame, col: str, table_path: str) -> np.ndarray:
    s = df[col]
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        conv = pd.to_numeric(s, errors="coerce")
        bad = np.flatnonzero(conv.isna().to_numpy() & s.notna().to_numpy())
        if bad.size:
            i = int(bad[0])
            raise InstanceError(
                table_path,
                f"{_row_label(table_path, df, i)}, column {col!r}",
                f"expected a number, found text {s.iloc[i]!r}",
            )
        s = conv
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        raise InstanceError(table_path, f"column {col!r}", f"expected numbers, found {s.dtype}")
    arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        found = "an empty cell or NaN" if np.isnan(arr[i]) else repr(float(arr[i]))
        raise InstanceError(
            table_path,
            f"{_row_label(table_path, df, i)}, column {col!r}",
            f"expected a finite number, found {found}",
        )
    return arr


def _parse_budgets(src: str, raw: Any) -> tuple[list[Budget], list[tuple[str, dict[str, Any]]]]:
    if not isinstance(raw, list):
        raise InstanceError(src, "budgets", "expected an array of tables [[budgets]]")
    if not raw:
        raise InstanceError(
            src, "budgets", "missing: expected at least one [[budgets]] table (name, column, limit)"
        )
    budgets: list[Budget] = []
    dists: list[tuple[str, dict[str, Any]]] = []
    for i, b in enumerate(raw):
        where = f"budgets[{i}]"
        if not isinstance(b, dict):
            raise InstanceError(src, where, "expected a table")
        _check_keys(src, f"{where}.", b, BUDGET_KEYS)
        name = _str(src, f"{where}.name", b.get("name"))
        column = _str(src, f"{where}.column", b.get("column", name))
        if "limit" not in b and "distribution" not in b:
            raise InstanceError(src, f"{where}.limit", "missing: a budget needs a limit")
        limit_raw = b.get("limit")
        if "distribution" in b:
            try:
                values, _ = discretise(b["distribution"], where=f"{where}.distribution")
            except UsageError as e:
                raise InstanceError(src, "", str(e)) from None
            dists.append((name, b["distribution"]))
            if limit_raw is None:
                limit_raw = float(np.median(values))
        budgets.append(Budget(name, _number(src, f"{where}.limit", limit_raw), column))
    names = [b.name for b in budgets]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise InstanceError(src, "budgets", f"duplicate budget name(s) {sorted(dup)}")
    return budgets, dists


def _parse_scenarios(
    src: str, raw: Any, budgets: list[Budget], dists: list[tuple[str, dict[str, Any]]]
) -> tuple[Scenario, ...]:
    names = {b.name for b in budgets}
    scenarios: list[Scenario] = []
    if raw is not None:
        if dists:
            raise InstanceError(
                src, "scenarios", "give either [[scenarios]] or a budget distribution, not both"
            )
        if not isinstance(raw, list) or not raw:
            raise InstanceError(src, "scenarios", "expected a non-empty array of tables")
        for i, s in enumerate(raw):
            where = f"scenarios[{i}]"
            if not isinstance(s, dict):
                raise InstanceError(src, where, "expected a table")
            _check_keys(src, f"{where}.", s, SCENARIO_KEYS)
            p = _number(src, f"{where}.probability", s.get("probability"), nonneg=True)
            lim = s.get("limits", {})
            if not isinstance(lim, dict):
                raise InstanceError(src, f"{where}.limits", "expected a table {budget = limit}")
            for k, v in lim.items():
                if k not in names:
                    raise InstanceError(
                        src,
                        f"{where}.limits.{k}",
                        f"unknown budget; expected one of {sorted(names)}",
                    )
                _number(src, f"{where}.limits.{k}", v)
            scenarios.append(Scenario(p, {k: float(v) for k, v in lim.items()}))
    elif len(dists) > 1:
        raise InstanceError(
            src,
            "budgets",
            "a distribution on more than one budget is ambiguous; "
            "give the joint [[scenarios]] instead",
        )
    elif dists:
        name, spec = dists[0]
        values, probs = discretise(spec)
        scenarios = [
            Scenario(float(p), {name: float(v)}) for v, p in zip(values, probs, strict=True)
        ]
    if scenarios:
        total = sum(s.probability for s in scenarios)
        if abs(total - 1.0) > PROB_TOL:
            raise InstanceError(
                src,
                "scenarios",
                f"probabilities must sum to 1 (within 1e-9), they sum to {total!r}",
            )
    return tuple(scenarios)


def load_instance(path: str | os.PathLike[str]) -> Instance:
    """Load an instance from its TOML manifest (or a folder holding ``instance.toml``)."""
    p = manifest_path(path)
    src = str(p)
    if p.suffix.lower() in (".csv", ".parquet", ".pq", ".gz"):
        raise InstanceError(
            src,
            "",
            "expected an instance manifest (instance.toml or the folder holding it), "
            "got a table; write a manifest naming it (see `treatalloc generate` for an example)",
        )
    m = read_manifest(p)
    _check_keys(src, "", m, TOP_KEYS)
    kind = m.get("kind", "mckp")
    if kind != "mckp":
        raise InstanceError(
            src,
            "kind",
            "expected 'mckp' for an instance (cluster programs have their own loader), "
            f"got {kind!r}",
        )
    table_name = _str(src, "table", m.get("table"))
    cols = Columns(
        unit=_str(src, "unit", m.get("unit", "unit")),
        option=_str(src, "option", m.get("option", "option")),
        value=_str(src, "value", m.get("value", "value")),
    )
    choose = m.get("choose", "exactly-one")
    if choose not in CHOOSE_MODES:
        raise InstanceError(src, "choose", f"expected one of {list(CHOOSE_MODES)}, got {choose!r}")
    budgets, dists = _parse_budgets(src, m.get("budgets", []))

    table_path = p.parent / table_name
    df = read_table(table_path, src, text_columns=(cols.unit, cols.option))
    tsrc = str(table_path)
    needed = [cols.unit, cols.option, cols.value, *[b.column for b in budgets]]
    for c in needed:
        if c not in df.columns:
            raise InstanceError(
                tsrc,
                f"column {c!r}",
                f"missing; the table has columns {list(map(str, df.columns))}",
            )
    if len(df) == 0:
        raise InstanceError(tsrc, "", "the table is empty: expected one row per (unit, option)")
    for c in (cols.unit, cols.option):
        nulls = np.flatnonzero(df[c].isna().to_numpy())
        if nulls.size:
            i = int(nulls[0])
            raise InstanceError(tsrc, f"{_row_label(tsrc, df, i)}, column {c!r}", "empty id")
    value = _numeric_column(df, cols.value, tsrc)
    costs = np.empty((len(budgets), len(df)))
    for k, b in enumerate(budgets):
        costs[k] = _numeric_column(df, b.column, tsrc)

    unit_codes, unit_uniques = pd.factorize(df[cols.unit], sort=False)
    option_str = df[cols.option].astype(str)
    option_codes, option_uniques = pd.factorize(option_str, sort=False)
    pair = unit_codes.astype(np.int64) * max(1, len(option_uniques)) + option_codes
    dup_mask = pd.Series(pair).duplicated().to_numpy()
    if dup_mask.any():
        i = int(np.flatnonzero(dup_mask)[0])
        raise InstanceError(
            tsrc,
            _row_label(tsrc, df, i),
            f"duplicate (unit, option) = ({df[cols.unit].iloc[i]!r}, {option_str.iloc[i]!r}); "
            "expected each pair once",
        )
    order = np.argsort(unit_codes, kind="stable")
    counts = np.bincount(unit_codes, minlength=len(unit_uniques))
    offsets = np.zeros(len(unit_uniques) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    labels = tuple(str(x) for x in option_uniques)

    capacities: list[Capacity] = []
    raw_caps = m.get("capacities", [])
    if not isinstance(raw_caps, list):
        raise InstanceError(src, "capacities", "expected an array of tables [[capacities]]")
    for i, c in enumerate(raw_caps):
        where = f"capacities[{i}]"
        if not isinstance(c, dict):
            raise InstanceError(src, where, "expected a table")
        _check_keys(src, f"{where}.", c, CAPACITY_KEYS)
        opt = c.get("option")
        if opt is None:
            raise InstanceError(src, f"{where}.option", "missing: expected an option label")
        opt = str(opt)
        if any(prev.option == opt for prev in capacities):
            raise InstanceError(
                src, f"{where}.option", f"a second capacity for option {opt!r}; expected one"
            )
        if opt not in labels:
            raise InstanceError(
                src,
                f"{where}.option",
                f"unknown option {opt!r}; the table has options {list(labels)[:20]}",
            )
        capacities.append(
            Capacity(opt, _number(src, f"{where}.limit", c.get("limit"), nonneg=True))
        )

    reference = None
    if "reference" in m:
        r = m["reference"]
        if not isinstance(r, dict):
            raise InstanceError(src, "reference", "expected a table")
        _check_keys(src, "reference.", r, REFERENCE_KEYS)
        proven = r.get("proven", False)
        if not isinstance(proven, bool):
            raise InstanceError(src, "reference.proven", f"expected true or false, got {proven!r}")
        reference = Reference(
            _number(src, "reference.objective", r.get("objective")),
            proven,
            str(r.get("source", "")),
        )
    scenarios = _parse_scenarios(src, m.get("scenarios"), budgets, dists)

    return Instance(
        name=str(m.get("name", p.parent.name)),
        description=str(m.get("description", "")),
        unit_ids=np.asarray(unit_uniques),
        offsets=offsets,
        option_codes=option_codes[order].astype(np.int32),
        option_labels=labels,
        value=value[order],
        costs=np.ascontiguousarray(costs[:, order]),
        budgets=tuple(budgets),
        capacities=tuple(capacities),
        choose=choose,
        reference=reference,
        scenarios=scenarios,
        columns=cols,
    )


def instance_table(instance: Instance) -> pd.DataFrame:
    """The instance as its long table: one row per (unit, option)."""
    cols = instance.columns
    data: dict[str, Any] = {
        cols.unit: np.repeat(instance.unit_ids, instance.counts),
        cols.option: np.asarray(instance.option_labels, dtype=object)[instance.option_codes],
        cols.value: instance.value,
    }
    for k, b in enumerate(instance.budgets):
        data[b.column or b.name] = instance.costs[k]
    return pd.DataFrame(data)


def manifest_dict(instance: Instance, table: str) -> dict[str, Any]:
    m: dict[str, Any] = {"name": instance.name}
    if instance.description:
        m["description"] = instance.description
    m.update(
        table=table,
        unit=instance.columns.unit,
        option=instance.columns.option,
        value=instance.columns.value,
        choose=instance.choose,
        budgets=[
            {"name": b.name, "column": b.column or b.name, "limit": b.limit}
            for b in instance.budgets
        ],
    )
    if instance.capacities:
        m["capacities"] = [{"option": c.option, "limit": c.limit} for c in instance.capacities]
    if instance.scenarios:
        m["scenarios"] = [
            {"probability": s.probability, "limits": dict(s.limits)} for s in instance.scenarios
        ]
    if instance.reference is not None:
        r = instance.reference
        m["reference"] = {"objective": r.objective, "proven": r.proven, "source": r.source}
    return m


def write_instance(
    instance: Instance, path: str | os.PathLike[str], *, table_format: str = "csv"
) -> Path:
    """Write ``instance.toml`` (or the given .toml path) and its table beside it, atomically."""
    import tomli_w

    p = Path(path)
    if p.suffix != ".toml":
        p = p / "instance.toml"
    if table_format not in ("csv", "parquet"):
        raise UsageError(f"table_format: expected 'csv' or 'parquet', got {table_format!r}")
    table_name = f"{p.stem}.{table_format}" if p.stem != "instance" else f"options.{table_format}"
    df = instance_table(instance)
    atomic_write_frame(df, p.parent / table_name)
    atomic_write_text(p, tomli_w.dumps(manifest_dict(instance, table_name)))
    return p
