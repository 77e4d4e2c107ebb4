"""How the budget rows are handed to an exact solver, so that its tolerance cannot overspend them.

"Within budget" means the budgets as written, up to the 1e-12 noise of a compensated sum
(formulations.assignment: usage <= L + tol(L), tol(L) = 1e-12 max(1, |L|)). A MIP solver
accepts a row that its own arithmetic finds above the limit by up to its feasibility
tolerance: HiGHS by an absolute 1e-9 (the value this project sets), SCIP by a relative 1e-9
(``numerics/feastol``, relative to max(1, |L|)). Handed the limits as written, HiGHS would take
an allocation that overspends a limit of 1000 by 7e-7 as feasible.

Two rules, so that the solver's feasible set is the one every solver aims at (the target
``T = L + tol(L)`` of formulations.assignment.target_limits) to within 1e-3 tol(L):

* every budget row gets its target T as its limit (float noise on an exact fit, such as
  0.1 + 0.2 against 0.3, is far below tol);
* the row (its costs and its limit) is multiplied by a factor F >= 1 that makes the solver's
  own tolerance worth at most ``RESOLUTION * tol(L)`` in the budget's units, so whatever it
  accepts uses at most T + 1e-3 tol(L). For an absolute tolerance ``abs_tol`` (HiGHS, 1e-9)
  F = abs_tol / (1e-3 tol(L)): up to 1e6, and 1 from |L| = 1e6 up. A relative tolerance
  ``rel_tol`` (SCIP: relative to max(1, |activity|, |limit|)) acts as an absolute one while the
  scaled limit stays within [-1, 1], so the same F works where F |L| <= 1 (|L| <= 1e-6: a zero
  budget, typically); above that nothing can be scaled away. F is capped so that no scaled
  coefficient exceeds ``MAX_SCALED`` (HiGHS refuses entries from 1e15).

Where F cannot reach that (SCIP with |L| > 1e-6, the cap), the solver keeps its own tolerance
(SCIP's 1e-9: at 1e-12 it stopped proving 1,000-user instances it proves in 11 s at 1e-9),
and may return an allocation within (T, T + 1e-9 |T|]. The ``ortools`` backend then solves
once more with every target lowered by that tolerance (``shrink``): the allocation is then
within the budget, and the first solve's bound (of a problem that holds every feasible
allocation) stays the bound, so the result is ``optimal`` only where that bound proves it.
Capacity rows count units and are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from formulations.assignment import slack_tolerance, target_limits

#: the largest coefficient a scaled budget row may have (HiGHS refuses |a| >= 1e15)
MAX_SCALED = 1e13
#: what a solver's own tolerance may be worth after scaling, as a share of tol(L)
RESOLUTION = 1e-3


@dataclass(frozen=True, eq=False)
class BudgetRows:
    """Per budget row: the factor its costs and limit are multiplied by, and its new limit."""

    factor: np.ndarray
    limit: np.ndarray


def budget_rows_for(
    limits: np.ndarray, *, abs_tol: float = 0.0, rel_tol: float = 0.0,
    largest: np.ndarray | None = None, shrink: float = 0.0,
) -> BudgetRows:
    """The scaled rows for a solver with feasibility tolerance ``abs_tol`` (absolute) or
    ``rel_tol`` (relative, SCIP-style); ``largest`` the largest |coefficient| of each row.
    ``shrink`` lowers each target by ``shrink * max(1, |T|)`` (a second solve that its relative
    tolerance must not be able to carry above the target)."""
    lim = np.asarray(limits, dtype=np.float64)
    resolution = RESOLUTION * slack_tolerance(lim)
    factor = np.ones_like(lim)
    if abs_tol > 0:
        factor = np.maximum(factor, abs_tol / resolution)
    if rel_tol > 0:
        f = rel_tol / resolution
        factor = np.where(f * np.abs(lim) <= 1.0, np.maximum(factor, f), factor)
    if largest is not None:
        big = np.asarray(largest, dtype=np.float64)
        with np.errstate(over="ignore"):
            cap = np.where(big > 0, MAX_SCALED / np.where(big > 0, big, 1.0), np.inf)
        factor = np.maximum(1.0, np.minimum(factor, cap))
    target = target_limits(lim)
    target = target - shrink * np.maximum(1.0, np.abs(target))
    return BudgetRows(factor=factor, limit=factor * target)


def solver_rows(
    A: Any, row_upper: np.ndarray, rows: np.ndarray, *, abs_tol: float = 0.0,
    rel_tol: float = 0.0, shrink: float = 0.0,
) -> tuple[Any, np.ndarray]:
    """(A, row_upper) of a standard form with the budget rows ``rows`` (indices; see
    StandardForm.budget_rows) as :func:`budget_rows_for` makes them. ``A`` is a scipy CSR
    matrix; a new one is returned where a row is scaled."""
    upper = np.array(row_upper, dtype=np.float64)
    rows = np.asarray(rows, dtype=np.int64)
    rows = rows[np.isfinite(upper[rows])]
    if rows.size == 0:
        return A, upper
    largest = np.array([np.abs(A.data[A.indptr[r]:A.indptr[r + 1]]).max(initial=0.0)
                        for r in rows.tolist()])
    given = budget_rows_for(upper[rows], abs_tol=abs_tol, rel_tol=rel_tol, largest=largest,
                            shrink=shrink)
    upper[rows] = given.limit
    if np.all(given.factor == 1.0):
        return A, upper
    import scipy.sparse as sp

    scale = np.ones(upper.size)
    scale[rows] = given.factor
    scaled = sp.csr_matrix(sp.diags(scale) @ A)
    scaled.sort_indices()  # MathOpt wants the columns of each row in increasing order
    return scaled, upper
