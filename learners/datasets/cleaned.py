"""A dataset after cleaning: the table to write, its manifest keys, and every dropped row counted.

A loader's ``clean(root)`` returns a :class:`Cleaned`; :func:`learners.datasets.prepare` then
adds the design propensity, splits it and writes it. Rows are dropped only through
:func:`drop_where`, so each drop is counted under one named reason (the first that applies).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Drop:
    """Rows dropped for one reason: how many, and why (a sentence for the report)."""

    rows: int
    why: str


@dataclass(frozen=True, eq=False)
class Cleaned:
    """The cleaned rows of one dataset.

    ``frame`` holds the unit id, treatment label, outcome, cost column (where the cost is per
    row), features and extra columns, one row per unit. ``manifest`` holds the data.toml keys
    (treatment, control, arms, outcome, cost or costs, features, unit, ...), without ``table``
    and ``propensity``, which prepare sets. ``rows_read`` counts data rows per raw file,
    ``dropped`` the rows removed per reason. ``fixed_test`` (N,) marks the rows of a test split
    the source fixes (Starbucks' Test.csv); None means every split is drawn at random.
    ``notes`` are warnings about the data found while cleaning.
    """

    frame: pd.DataFrame
    manifest: Mapping[str, Any]
    rows_read: Mapping[str, int]
    dropped: Mapping[str, Drop]
    fixed_test: np.ndarray | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def arms(self) -> tuple[str, ...]:
        return tuple(self.manifest["arms"])

    @property
    def treatment(self) -> str:
        return str(self.manifest["treatment"])


def drop_where(
    df: pd.DataFrame, mask: np.ndarray | pd.Series, reason: str, why: str,
    dropped: dict[str, Drop],
) -> pd.DataFrame:
    """``df`` without the rows where ``mask`` holds, their count recorded under ``reason``.

    A reason seen before adds to its count. Zero counts are recorded too, so a report shows
    every check that ran.
    """
    m = np.asarray(mask, dtype=bool)
    before = dropped.get(reason)
    dropped[reason] = Drop(rows=int(m.sum()) + (before.rows if before else 0), why=why)
    return df.loc[~m].reset_index(drop=True)


def drop_missing(
    df: pd.DataFrame, columns: list[str], reason: str, why: str, dropped: dict[str, Drop],
) -> pd.DataFrame:
    """Drop the rows with an empty cell in any of ``columns`` (one count for the group)."""
    return drop_where(df, df[columns].isna().any(axis=1).to_numpy(), reason, why, dropped)


def ints_where_whole(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Cast each column whose values are all whole numbers to int64 (so CSVs show 22, not 22.0)."""
    whole = [c for c in columns if bool((df[c] % 1 == 0).all())]
    return df.astype(dict.fromkeys(whole, "int64"))
