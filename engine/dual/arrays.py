"""The dense arrays the dual engine works on: values, one cost row per dual row, their limits.

Budgets and capacities are both *dual rows*. A budget row's limit is its target
(formulations.assignment.target_limits: the limit as written plus the 1e-12 noise allowance of
"within budget"); everything the dual computes (the LP, the bound, the fill, the repair) holds
to it, so its bound covers every allocation it can return. A capacity "at most L units get option o"
is a row whose cost is 1 in the cells of option o, with limit floor(L). For ``at-most-one`` the
implicit null option is an extra last column (value 0, cost 0). For the common case
(exactly-one, rectangular, no capacities) every array is a view of the instance's own
storage: nothing is copied.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.dual import compiled
from formulations.assignment import target_limits
from formulations.instance import Instance


@dataclass(frozen=True, eq=False)
class DualArrays:
    """value (n, M'), costs (R, n, M') with R = budgets + capacities, limits (R,)."""

    value: np.ndarray
    costs: np.ndarray
    valid: np.ndarray | None
    """(n, M') usable cells, or None when every cell is usable"""
    limits: np.ndarray
    """(R,) the target limit of every row (budgets: target_limits; capacities: floor(L))"""
    row_names: tuple[str, ...]
    n_budgets: int
    null_column: int | None
    """the column of the implicit null option (at-most-one), else None"""

    @property
    def n_units(self) -> int:
        return int(self.value.shape[0])

    @property
    def n_rows(self) -> int:
        return int(self.costs.shape[0])

    def assignment(self, cols: np.ndarray) -> np.ndarray:
        """Instance assignment (-1 for the null option) from dense columns."""
        cols = np.asarray(cols, dtype=np.int64)
        if self.null_column is None:
            return cols
        return np.where(cols == self.null_column, -1, cols)

    def columns(self, assignment: np.ndarray) -> np.ndarray:
        """Dense columns from an instance assignment."""
        a = np.asarray(assignment, dtype=np.int64)
        if self.null_column is None:
            return a
        return np.where(a < 0, self.null_column, a)

    def usage(self, cols: np.ndarray) -> np.ndarray:
        """(R,) consumption of every dual row by the allocation ``cols``."""
        return self.chosen(self.costs, cols).sum(axis=1)

    def objective(self, cols: np.ndarray) -> float:
        return float(self.chosen(self.value[None], cols)[0].sum())

    @staticmethod
    def chosen(a: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(R, n) ``a[:, i, cols[i]]`` of an (R, n, M) array (compiled where available: the
        same values, without the fancy-index temporaries)."""
        ck = compiled.kernels(a.size)
        cols = np.asarray(cols)
        if ck is None or cols.ndim != 1 or cols.dtype.kind not in "iu":
            return a[:, np.arange(a.shape[1]), cols]
        if cols.shape[0] != a.shape[1] or (cols.size and (int(cols.max()) >= a.shape[2]
                                                          or int(cols.min()) < -a.shape[2])):
            raise IndexError(f"columns: expected {a.shape[1]} indices in "
                             f"[{-a.shape[2]}, {a.shape[2]}), got shape {cols.shape}")
        # the layout numpy's fancy index gives ((n, R) in memory), so that sums over it
        # run in the same order as on numpy's result
        out = np.empty(a.shape[1::-1], dtype=a.dtype).T
        ck.take_columns(a, cols.astype(np.int64, copy=False), out)
        return out


def flush_subnormal(a: np.ndarray) -> np.ndarray:
    """``a`` with subnormal entries (|x| < 2.2e-308) set to 0, a copy only where there are any.

    An efficiency dv / dc with a subnormal dc overflows to inf, and the hull, the bracket and the
    bundle's model LP then break (hypothesis found costs of 1.1e-308). Zero differs from such a
    cost by less than any tolerance of the project, and a zero cost is handled exactly.
    """
    tiny = np.finfo(np.float64).tiny
    ck = compiled.kernels(a.size)
    # one pass without the two full-size boolean temporaries (the common case: none)
    if (ck is not None and a.dtype == np.float64 and a.flags.c_contiguous
            and not ck.has_subnormal(a.reshape(-1))):
        return a
    mask = (a != 0) & (np.abs(a) < tiny)
    if not mask.any():
        return a
    return np.where(mask, 0.0, a)


def with_null_column(
    value: np.ndarray, costs: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """At-most-one as exactly-one: a last column of value 0 and cost 0 on every row, valid for
    every unit. Returns the widened (value, costs (R, N, M+1), valid) and that column's index."""
    n, m = value.shape
    value = np.concatenate([value, np.zeros((n, 1))], axis=1)
    costs = np.concatenate([costs, np.zeros((costs.shape[0], n, 1))], axis=2)
    valid = np.concatenate([valid, np.ones((n, 1), dtype=bool)], axis=1)
    return value, costs, valid, m


def dual_arrays(instance: Instance) -> DualArrays:
    """Dense arrays of ``instance`` with capacities as extra cost rows."""
    dense = instance.dense()
    value, costs, valid = flush_subnormal(dense.value), flush_subnormal(dense.costs), dense.valid
    all_valid = bool(instance.is_rectangular())
    caps = instance.capacity_codes()
    names = list(instance.budget_names)
    limits = target_limits(instance.limits).tolist()
    if caps:
        codes = np.full(value.shape, -1, dtype=np.int64)
        codes[instance.unit_of_row, instance.local_index] = instance.option_codes
        extra = np.stack([(codes == code).astype(np.float64) for code, _ in caps])
        costs = np.concatenate([costs, extra], axis=0)
        for code, lim in caps:
            names.append(f"capacity:{instance.option_labels[code]}")
            limits.append(float(np.floor(lim)))
    null_column = None
    if instance.choose == "at-most-one":
        value, costs, valid, null_column = with_null_column(value, costs, valid)
    return DualArrays(
        value=value, costs=costs, valid=None if all_valid else valid,
        limits=np.asarray(limits, dtype=np.float64), row_names=tuple(names),
        n_budgets=instance.n_budgets, null_column=null_column,
    )
