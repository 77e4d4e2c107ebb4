"""Compile an MCKP instance to standard-form sparse arrays with the map back to (unit, option).

    maximise   c @ x
    subject to row_lower <= A @ x <= row_upper,   x binary

Rows of A, in order: one choice row per unit (= 1 for ``exactly-one``, <= 1 for ``at-most-one``),
one row per budget, one row per capacity. Column r is row r of the instance table, so the map back
is ``instance.unit_of_row`` / ``instance.local_index``. Every backend consumes these same arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from formulations.instance import Instance


@dataclass(frozen=True, eq=False)
class StandardForm:
    c: np.ndarray
    A: sp.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_kind: tuple[str, ...]
    """Per block of rows: "choice", "budget:<name>" or "capacity:<option>" (see ``row_blocks``)."""
    row_blocks: tuple[tuple[int, int], ...]
    """(start, stop) row ranges matching ``row_kind``."""
    n_units: int

    @property
    def n_cols(self) -> int:
        return int(self.c.shape[0])

    @property
    def n_rows(self) -> int:
        return int(self.A.shape[0])


def compile_standard_form(instance: Instance) -> StandardForm:
    """Vectorised: no Python loop per unit or per row."""
    n, r, k = instance.n_units, instance.n_rows, instance.n_budgets
    unit_of_row = instance.unit_of_row
    cols = np.arange(r, dtype=np.int64)

    blocks_rows = [unit_of_row]
    blocks_cols = [cols]
    blocks_vals = [np.ones(r)]
    lower = [np.full(n, 1.0 if instance.choose == "exactly-one" else -np.inf)]
    upper = [np.ones(n)]
    kinds = ["choice"]
    ranges = [(0, n)]
    next_row = n

    for b in range(k):
        nz = np.flatnonzero(instance.costs[b])
        blocks_rows.append(np.full(nz.size, next_row, dtype=np.int64))
        blocks_cols.append(nz)
        blocks_vals.append(instance.costs[b, nz])
        lower.append(np.array([-np.inf]))
        upper.append(np.array([instance.budgets[b].limit]))
        kinds.append(f"budget:{instance.budgets[b].name}")
        ranges.append((next_row, next_row + 1))
        next_row += 1

    for code, lim in instance.capacity_codes():
        nz = np.flatnonzero(instance.option_codes == code)
        blocks_rows.append(np.full(nz.size, next_row, dtype=np.int64))
        blocks_cols.append(nz)
        blocks_vals.append(np.ones(nz.size))
        lower.append(np.array([-np.inf]))
        upper.append(np.array([lim]))
        kinds.append(f"capacity:{instance.option_labels[code]}")
        ranges.append((next_row, next_row + 1))
        next_row += 1

    A = sp.csr_matrix(
        (np.concatenate(blocks_vals), (np.concatenate(blocks_rows), np.concatenate(blocks_cols))),
        shape=(next_row, r),
    )
    A.sort_indices()
    return StandardForm(
        c=instance.value.copy(),
        A=A,
        row_lower=np.concatenate(lower),
        row_upper=np.concatenate(upper),
        col_lower=np.zeros(r),
        col_upper=np.ones(r),
        row_kind=tuple(kinds),
        row_blocks=tuple(ranges),
        n_units=n,
    )


def assignment_from_x(instance: Instance, x: np.ndarray) -> np.ndarray:
    """Per unit, the local index of its largest x (rounded binary solution); -1 where all ~0."""
    x = np.asarray(x, dtype=np.float64)
    starts = instance.offsets[:-1]
    best = np.maximum.reduceat(x, starts) if instance.n_units else np.zeros(0)
    # first row of each unit that attains its maximum
    is_best = x >= np.repeat(best, instance.counts) - 1e-12
    row_idx = np.where(is_best, np.arange(x.shape[0]), np.iinfo(np.int64).max)
    first = np.minimum.reduceat(row_idx, starts) if instance.n_units else np.zeros(0, np.int64)
    a = first - starts
    if instance.choose == "at-most-one":
        a = np.where(best > 0.5, a, -1)
    return a.astype(np.int64)
