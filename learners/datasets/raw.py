"""Reading a raw public file: existence, header, checksum, and typed columns with clear errors.

Every error is an InstanceError naming the file, the row (the raw file's 1-based data row, with
its line number) and column, what was expected and what was found.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from formulations.errors import InstanceError

ROW = "row"
"""The column read_raw adds: the raw file's 1-based data row (its line number minus one)."""


@dataclass(frozen=True)
class RawFile:
    """One raw file of a dataset, as its SOURCE.md describes it.

    ``path`` is relative to the data root (``hillstrom/hillstrom.csv``); ``columns`` is the
    header expected (order not enforced); ``sha256`` the checksum recorded in SOURCE.md.
    """

    path: str
    columns: tuple[str, ...]
    sha256: str


@dataclass(frozen=True)
class Checksum:
    """A raw file's sha256 as read, against the one SOURCE.md records."""

    path: str
    sha256: str
    expected: str

    @property
    def matches(self) -> bool:
        return self.sha256 == self.expected


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def raw_path(root: Path, raw: RawFile, dataset: str) -> Path:
    """The file's path under ``root``; an InstanceError naming it where it is missing."""
    p = root / raw.path
    if not p.is_file():
        raise InstanceError(
            str(p), "",
            f"not found: the {dataset} dataset expects this raw file under the data root "
            f"{str(root)!r} (see docs/datasets.md for where it comes from)",
        )
    return p


def read_raw(root: Path, raw: RawFile, dataset: str) -> pd.DataFrame:
    """The raw table with its header checked and a ``row`` column (1-based data row) added."""
    p = raw_path(root, raw, dataset)
    try:
        header = list(pd.read_csv(p, nrows=0).columns)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise InstanceError(str(p), "", f"cannot read as CSV: {_one_line(e)}") from None
    missing = [c for c in raw.columns if c not in header]
    extra = [c for c in header if c not in raw.columns]
    if missing or extra:
        found = f"missing {missing}" if missing else ""
        found += ("; " if found and extra else "") + (f"unexpected {extra}" if extra else "")
        raise InstanceError(
            str(p), "header", f"expected the columns {list(raw.columns)}; {found}"
        )
    try:
        df = pd.read_csv(p)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise InstanceError(str(p), "", f"cannot read as CSV: {_one_line(e)}") from None
    if len(df) == 0:
        raise InstanceError(str(p), "", "no data rows: expected one row per unit")
    df[ROW] = np.arange(1, len(df) + 1, dtype=np.int64)
    return df


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


def where(df: pd.DataFrame, pos: int, col: str) -> str:
    """``row R (line L), column C`` for the frame's row at position ``pos``."""
    r = int(df[ROW].iloc[pos])
    return f"row {r} (line {r + 1}), column {col!r}"


def numeric(df: pd.DataFrame, col: str, src: str) -> pd.Series:
    """The column as float; empty cells are NaN, text that is not a number is an error."""
    s = df[col]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        out = s.astype(np.float64)
    else:
        out = pd.to_numeric(s, errors="coerce").astype(np.float64)
        bad = np.flatnonzero(out.isna().to_numpy() & s.notna().to_numpy())
        if bad.size:
            i = int(bad[0])
            raise InstanceError(src, where(df, i, col), f"expected a number, found {s.iloc[i]!r}")
    v = out.to_numpy()
    inf = np.flatnonzero(np.isinf(v))
    if inf.size:
        i = int(inf[0])
        raise InstanceError(src, where(df, i, col), f"expected a finite number, found {v[i]!r}")
    return out


def yes_no(df: pd.DataFrame, col: str, src: str) -> pd.Series:
    """``yes``/``no`` in any case (spaces stripped) as 1.0/0.0; empty cells NaN; else an error."""
    s = df[col]
    low = s.astype("string").str.strip().str.lower()
    out = low.map({"yes": 1.0, "no": 0.0}).astype(np.float64)
    bad = np.flatnonzero(out.isna().to_numpy() & s.notna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise InstanceError(src, where(df, i, col), f"expected yes or no, found {s.iloc[i]!r}")
    return out


def zero_one(df: pd.DataFrame, col: str, src: str) -> pd.Series:
    """A 0/1 column as float; empty cells NaN; any other number an error."""
    out = numeric(df, col, src)
    v = out.to_numpy()
    bad = np.flatnonzero(~np.isnan(v) & (v != 0) & (v != 1))
    if bad.size:
        i = int(bad[0])
        raise InstanceError(src, where(df, i, col), f"expected 0 or 1, found {v[i]!r}")
    return out


def labels(
    df: pd.DataFrame, col: str, src: str, allowed: Sequence[str], *, ignore_case: bool = False,
) -> pd.Series:
    """Text labels with surrounding spaces stripped; empty cells are NA; a label outside
    ``allowed`` is an error naming the row and the labels expected. ``ignore_case`` matches
    in any case and returns the spelling of ``allowed``.
    """
    s = df[col].astype("string").str.strip()
    if ignore_case:
        s = s.str.lower().map({a.lower(): a for a in allowed}).astype("string")
        bad = np.flatnonzero(s.isna().to_numpy() & df[col].notna().to_numpy())
    else:
        bad = np.flatnonzero(s.notna().to_numpy() & ~s.isin(list(allowed)).to_numpy())
    if bad.size:
        i = int(bad[0])
        raise InstanceError(
            src, where(df, i, col), f"unknown label {df[col].iloc[i]!r}; expected one of "
            f"{list(allowed)}",
        )
    return s
