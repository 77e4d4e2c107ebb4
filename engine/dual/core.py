"""The core of an instance around a multiplier: reduced costs, fixing, and the core sub-instance.

With multipliers lam, the reduced cost of cell (i, j) is
``d_ij = (v_ij - lam . c_ij) - max_k (v_ik - lam . c_ik) <= 0``. For any feasible allocation x,
``value(x) <= f(lam) + sum_i d_{i, x_i}`` (f the dual function), so a cell with
``-d_ij > f(lam) - LB`` cannot be used by an allocation worth at least LB: it is fixed to 0
(reduced-cost fixing). Units left with one cell are fixed; the others form the *core*, a small
instance over the residual limits that an exact solver handles (Pisinger's core idea, EJOR 1995,
with the core chosen by reduced cost instead of grown around the fractional unit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.dual.arrays import DualArrays
from engine.dual.kernels import BLOCK_ROWS
from formulations.assignment import written_limits
from formulations.instance import Budget, Instance


def reduced_costs(arr: DualArrays, lam: np.ndarray) -> np.ndarray:
    """(n, M') reduced costs d_ij <= 0 (``-inf`` for unusable cells)."""
    n, m = arr.value.shape
    out = np.empty((n, m))
    for a in range(0, n, BLOCK_ROWS):
        b = min(n, a + BLOCK_ROWS)
        s = arr.value[a:b] - np.tensordot(lam, arr.costs[:, a:b], axes=1)
        if arr.valid is not None:
            s = np.where(arr.valid[a:b], s, -np.inf)
        out[a:b] = s - s.max(axis=1, keepdims=True)
    return out


def second_gap(arr: DualArrays, lam: np.ndarray) -> np.ndarray:
    """(n,) how far each unit's second-best cell is below its best (>= 0; inf if one cell)."""
    n, m = arr.value.shape
    out = np.empty(n)
    for a in range(0, n, BLOCK_ROWS):
        b = min(n, a + BLOCK_ROWS)
        s = arr.value[a:b] - np.tensordot(lam, arr.costs[:, a:b], axes=1)
        if arr.valid is not None:
            s = np.where(arr.valid[a:b], s, -np.inf)
        if m < 2:
            out[a:b] = np.inf
            continue
        top2 = -np.partition(-s, 1, axis=1)[:, :2]
        out[a:b] = top2[:, 0] - top2[:, 1]
    return out


def second_gap_of(d: np.ndarray) -> np.ndarray:
    """:func:`second_gap` from the reduced costs ``d`` (n, M) of the same multipliers, without
    a second pass over the data: the same numbers (``0 - (s2 - s1)`` is ``s1 - s2`` exactly)."""
    n, m = d.shape
    if m < 2:
        return np.full(n, np.inf)
    out = np.empty(n)
    for a in range(0, n, BLOCK_ROWS):
        b = min(n, a + BLOCK_ROWS)
        top2 = -np.partition(-d[a:b], 1, axis=1)[:, :2]
        out[a:b] = top2[:, 0] - top2[:, 1]
    return out


@dataclass(frozen=True, eq=False)
class Core:
    """A sub-instance over the core units and the map back to dense columns."""

    instance: Instance
    units: np.ndarray
    """(C,) the core units (rows of the dual arrays)"""
    cells: np.ndarray
    """(rows of the sub-instance,) dense column of every sub-instance row"""
    fixed_cols: np.ndarray
    """(n,) the columns of every unit outside the core (core units: their incumbent column)"""
    fixed_value: float

    def columns(self, sub_assignment: np.ndarray) -> np.ndarray:
        """Full dense columns from an assignment of the sub-instance."""
        cols = self.fixed_cols.copy()
        starts = self.instance.offsets[:-1]
        cols[self.units] = self.cells[starts + np.asarray(sub_assignment, dtype=np.int64)]
        return cols


def build_core(
    arr: DualArrays, allowed: np.ndarray, incumbent: np.ndarray, *, name: str = "core"
) -> Core:
    """The sub-instance of units with two or more allowed cells; the others keep their only
    allowed cell (or the incumbent's where that is the only one). Every dual row becomes a
    budget of the sub-instance with the residual limit."""
    counts = allowed.sum(axis=1)
    core_units = np.flatnonzero(counts >= 2)
    fixed_cols = np.asarray(incumbent, dtype=np.int64).copy()
    single = np.flatnonzero(counts == 1)
    fixed_cols[single] = np.argmax(allowed[single], axis=1)
    outside = np.ones(arr.n_units, dtype=bool)
    outside[core_units] = False
    rows_out = np.flatnonzero(outside)
    used = arr.costs[:, rows_out, fixed_cols[rows_out]].sum(axis=1)
    fixed_value = float(arr.value[rows_out, fixed_cols[rows_out]].sum())
    sub_allowed = allowed[core_units]
    u, j = np.nonzero(sub_allowed)
    cells = j.astype(np.int64)
    gu = core_units[u]
    value = arr.value[gu, cells]
    costs = arr.costs[:, gu, cells]
    offsets = np.concatenate([[0], np.cumsum(sub_allowed.sum(axis=1))]).astype(np.int64)
    m = arr.value.shape[1]
    # the rows' targets less what the fixed units use, written so that a solver of the core
    # aims at exactly that (not at it plus a second noise margin)
    left = written_limits(arr.limits - used)
    budgets = tuple(
        Budget(nm, float(lim), nm) for nm, lim in zip(arr.row_names, left, strict=True)
    )
    inst = Instance(
        name=name, unit_ids=core_units.astype(np.int64), offsets=offsets,
        option_codes=cells.astype(np.int32), option_labels=tuple(str(c) for c in range(m)),
        value=np.ascontiguousarray(value), costs=np.ascontiguousarray(costs), budgets=budgets,
    )
    return Core(inst, core_units, cells, fixed_cols, fixed_value)
