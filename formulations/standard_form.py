"""The standard form: one program type for allocation instances and the stochastic programs.

    maximise   c @ x + constant
    subject to row_lower <= A @ x <= row_upper,   col_lower <= x <= col_upper,
               x integer where ``integer``

with named blocks of columns (``col_blocks[name] = (start, stop, shape)``) and of rows
(``row_blocks[name] = (start, stop)``). Every backend consumes these arrays (engine.backends:
HiGHS passes them in bulk, OR-Tools MathOpt as one ModelProto). Budget rows are the blocks named
``"budget"`` or ``"budget:<name>"``: they are held to the one definition of "within budget"
(formulations.assignment).

An allocation instance compiles (:func:`compile_standard_form`) to binary columns, one per row
of its table (so the map back is ``instance.unit_of_row`` / ``instance.local_index``), and rows
in order: one choice row per unit (= 1 for ``exactly-one``, <= 1 for ``at-most-one``), one row
per budget (block "budget:<name>"), one per capacity ("capacity:<option>"). The stochastic and
cluster programs are built in formulations.stochastic_programs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from formulations.assignment import FEAS_TOL
from formulations.errors import UsageError
from formulations.instance import Instance


@dataclass(frozen=True, eq=False)
class StandardForm:
    """A maximisation MILP/LP in standard form with named column and row blocks."""

    name: str
    c: np.ndarray
    A: sp.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    col_blocks: Mapping[str, tuple[int, int, tuple[int, ...]]]
    row_blocks: Mapping[str, tuple[int, int]]
    constant: float = 0.0
    info: Mapping[str, object] = field(default_factory=dict)

    @property
    def n_cols(self) -> int:
        return int(self.c.shape[0])

    @property
    def n_rows(self) -> int:
        return int(self.A.shape[0])

    def block(self, x: np.ndarray, name: str) -> np.ndarray:
        start, stop, shape = self.col_blocks[name]
        return np.asarray(x[start:stop]).reshape(shape)

    def objective(self, x: np.ndarray) -> float:
        return float(self.c @ x + self.constant)

    def violations(self, x: np.ndarray, *, tolerance: float = 1e-9) -> list[str]:
        """How ``x`` breaks the program, empty where it does not.

        Budget rows (block "budget") are held to the one definition of "within budget"
        (formulations.assignment: 1e-12 relative to max(1, |limit|)) beyond the rounding of the
        row's own sum; the other rows and the bounds of continuous columns to ``tolerance``
        (the solver's feasibility tolerance) relative to max(1, |bound|); integer columns must
        be integers within their bounds.
        """
        x = np.asarray(x, dtype=np.float64)
        out: list[str] = []
        ints = self.integer
        if np.any(x[ints] != np.round(x[ints])):
            out.append("an integer column is fractional")
        lo_tol = tolerance * np.maximum(1.0, np.abs(np.where(np.isfinite(self.col_lower),
                                                             self.col_lower, 0.0)))
        up_tol = tolerance * np.maximum(1.0, np.abs(np.where(np.isfinite(self.col_upper),
                                                             self.col_upper, 0.0)))
        lo_tol[ints] = 0.0
        up_tol[ints] = 0.0
        bad = np.flatnonzero((x < self.col_lower - lo_tol) | (x > self.col_upper + up_tol))
        if bad.size:
            out.append(f"column {int(bad[0])} is {x[bad[0]]!r}, outside "
                       f"[{self.col_lower[bad[0]]!r}, {self.col_upper[bad[0]]!r}]")
        act = self.A @ x
        noise = 4 * np.finfo(np.float64).eps * (abs(self.A) @ np.abs(x))
        up = np.where(np.isfinite(self.row_upper), self.row_upper, 0.0)
        lo = np.where(np.isfinite(self.row_lower), self.row_lower, 0.0)
        rel = np.full(self.n_rows, tolerance)
        a, b = self.row_blocks.get("budget", (0, 0))
        rel[a:b] = FEAS_TOL
        over = np.isfinite(self.row_upper) & (act > up + rel * np.maximum(1.0, np.abs(up)) + noise)
        under = np.isfinite(self.row_lower) & (act < lo - rel * np.maximum(1.0, np.abs(lo))
                                               - noise)
        for kind, mask in (("above its upper", over), ("below its lower", under)):
            rows = np.flatnonzero(mask)
            if rows.size:
                r = int(rows[0])
                block = next((n for n, (s0, s1) in self.row_blocks.items() if s0 <= r < s1), "?")
                bound = up[r] if kind.startswith("above") else lo[r]
                out.append(f"row {r} (block {block!r}) is {act[r]!r}, {kind} bound {bound!r}"
                           + (f" ({rows.size} rows)" if rows.size > 1 else ""))
        return out

    def relaxed(self) -> StandardForm:
        """The LP relaxation (same arrays, no integrality)."""
        return replace(self, integer=np.zeros_like(self.integer), name=f"{self.name} (LP)")

    def fixed(self, name: str, values: np.ndarray) -> StandardForm:
        """A copy with the columns of block ``name`` fixed to ``values``."""
        start, stop, _ = self.col_blocks[name]
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        if v.shape[0] != stop - start:
            raise UsageError(f"fixed: block {name!r} has {stop - start} columns, got {v.shape[0]}")
        lo, up = self.col_lower.copy(), self.col_upper.copy()
        lo[start:stop] = v
        up[start:stop] = v
        return replace(self, col_lower=lo, col_upper=up)

    def budget_rows(self) -> np.ndarray:
        """Indices of the budget rows (blocks "budget" and "budget:<name>")."""
        rows = [np.arange(a, b) for name, (a, b) in self.row_blocks.items()
                if name == "budget" or name.startswith("budget:")]
        return np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)


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
        name=instance.name or "mckp",
        c=instance.value.copy(),
        A=A,
        row_lower=np.concatenate(lower),
        row_upper=np.concatenate(upper),
        col_lower=np.zeros(r),
        col_upper=np.ones(r),
        integer=np.ones(r, dtype=bool),
        col_blocks={"x": (0, r, (r,))},
        row_blocks=dict(zip(kinds, ranges, strict=True)),
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
