"""Shared CLI plumbing: keeping stdout clean for --json, parsing KEY=VALUE, writing tables."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from formulations.atomic_write import TABLE_SUFFIXES, atomic_write_frame
from formulations.errors import UsageError


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send everything written to file descriptor 1 (C solver banners too) to stderr."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def parse_key_values(items: Sequence[str] | None, what: str) -> dict[str, Any]:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}`` (numbers and true/false converted)."""
    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{what}: expected KEY=VALUE, got {item!r}")
        out[key] = _convert(raw)
    return out


def _convert(raw: str) -> Any:
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write CSV or Parquet by suffix, atomically."""
    p = Path(path)
    if p.suffix.lower() not in TABLE_SUFFIXES:
        raise UsageError(f"--out {str(p)!r}: expected a .csv or .parquet file name")
    atomic_write_frame(df, p)


def fmt(x: float | None, digits: int = 10) -> str:
    return "-" if x is None else f"{x:.{digits}g}"
