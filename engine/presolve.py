"""Before any solver: remove the options that can never fit, and refuse what a solver cannot hold.

An option can never fit when its cost in some budget, added to the cheapest spend of every
other unit there, breaks that budget's target (formulations.assignment.target_limits). Real
tables mark "not available" with a sentinel cost (1e16, 1e308, ...); such options are exactly
these, and a MIP solver handed them fails (HiGHS refuses matrix entries from 1e15) or loses its
numerics. Removing them changes no feasible allocation, so every solver's answer and bound on
the reduced instance are answers and bounds of the instance as given; the assignment is mapped
back to the instance's option positions (:meth:`Reduction.restore`).

A coefficient that stays huge after the removal (it could fit: the budget is as large) is
refused by the backends that cannot hold it (``capabilities.max_coefficient``), with a one-line
message naming the row, before a model is built.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.result import SolveResult
from formulations.assignment import target_limits
from formulations.errors import UsageError
from formulations.instance import Instance
from formulations.summation import compensated_sum


@dataclass(frozen=True, eq=False)
class Reduction:
    """The instance a solver sees, and the way back to the one the caller gave."""

    original: Instance
    instance: Instance
    kept: np.ndarray | None
    """(rows of ``instance``,) the row of ``original`` each kept row is; None: nothing removed"""
    removed: int
    empty_unit: int
    """position of a unit left with no option (exactly-one: then infeasible), else -1"""
    breaks: str
    """the budget whose limit the empty unit's options all break"""
    units: np.ndarray | None = None
    """(units of ``instance``,) the unit of ``original`` each is; None: every unit stays"""
    infeasible: str = ""
    """why the instance is infeasible outright (every unit's cheapest spend breaks a budget)"""

    def restore(self, result: SolveResult) -> SolveResult:
        """``result`` with its assignment in the original instance's option positions."""
        detail = dict(result.detail)
        if self.removed:
            detail["removed_options"] = self.removed
        if self.kept is None or result.assignment is None:
            return replace(result, detail=detail) if self.removed else result
        a = np.asarray(result.assignment, dtype=np.int64)
        picked = a >= 0
        rows = self.kept[self.instance.offsets[:-1][picked] + a[picked]]
        units = np.arange(a.size) if self.units is None else self.units
        out = np.full(self.original.n_units, -1, dtype=np.int64)
        out[units[picked]] = rows - self.original.offsets[:-1][units[picked]]
        return replace(result, assignment=out, detail=detail)


def _least(instance: Instance, costs: np.ndarray) -> np.ndarray:
    """(N,) the cheapest cost of every unit in one budget (0 for at-most-one's null option)."""
    least = instance.per_unit(costs, "min")
    return np.minimum(least, 0.0) if instance.choose == "at-most-one" else least


def reduce_unfit(instance: Instance) -> Reduction:
    """Remove every option that can never fit a budget (see the module docstring)."""
    if instance.n_budgets == 0 or instance.n_rows == 0:
        return Reduction(instance, instance, None, 0, -1, "")
    targets = target_limits(instance.limits)
    drop = None
    for k in range(instance.n_budgets):
        c = instance.costs[k]
        lo, hi = float(c.min()), float(c.max())
        if not np.isfinite(hi):
            raise UsageError(f"budget {instance.budgets[k].name!r}: costs must be finite")
        # quick exit (the common case): the first option of every unit spends s0 >= the
        # cheapest spend; when no cell can exceed the room above s0, none exceeds the room
        first = c[instance.offsets[:-1]]
        if instance.choose == "at-most-one":
            first = np.minimum(first, 0.0)
        # a plain sum and its rounding bound (pairwise summation: far below 64 eps of the
        # absolute sum) suffice for a test that only has to be safe
        s0 = float(first.sum())
        slack0 = targets[k] - s0 - 64 * np.finfo(np.float64).eps * float(np.abs(first).sum())
        if s0 <= targets[k] and hi - min(lo, 0.0) <= slack0:
            continue
        least = _least(instance, c)
        total = compensated_sum(least)
        if total > targets[k]:
            b = instance.budgets[k]
            return Reduction(instance, instance, None, 0, -1, b.name, infeasible=(
                f"budget {b.name!r}: even the cheapest option of every unit spends "
                f"{total:.12g} > limit {b.limit:.12g}"))
        # room for any one unit above its cheapest; a margin against the rounding of c - least
        room = targets[k] - total + 4 * np.finfo(np.float64).eps * max(
            1.0, abs(targets[k]), float(np.abs(least).sum()))
        if hi - min(lo, 0.0) <= room:
            continue  # quick exit: no cell can exceed the room (the common case)
        over = c - np.repeat(least, instance.counts) > room
        drop = over if drop is None else (drop | over)
    if drop is None or not drop.any():
        return Reduction(instance, instance, None, 0, -1, "")
    keep = ~drop
    counts = np.add.reduceat(keep.astype(np.int64), instance.offsets[:-1])
    empty = np.flatnonzero(counts == 0)
    if empty.size and instance.choose == "exactly-one":
        u = int(empty[0])
        rows = slice(int(instance.offsets[u]), int(instance.offsets[u + 1]))
        ks = [k for k in range(instance.n_budgets)
              if np.all(instance.costs[k, rows] - _least(instance, instance.costs[k])[u]
                        > targets[k] - float(_least(instance, instance.costs[k]).sum()))]
        name = instance.budgets[ks[0] if ks else 0].name
        return Reduction(instance, instance, None, int(drop.sum()), u, name)
    # at-most-one: a unit left with no option takes its null option; it leaves the instance
    units = np.flatnonzero(counts > 0)
    kept = np.flatnonzero(keep)
    reduced = instance.replace(
        unit_ids=instance.unit_ids[units],
        offsets=np.concatenate([[0], np.cumsum(counts[units])]).astype(np.int64),
        option_codes=instance.option_codes[kept], value=instance.value[kept],
        costs=np.ascontiguousarray(instance.costs[:, kept]),
    )
    return Reduction(instance, reduced, kept, int(drop.sum()), -1, "",
                     None if units.size == instance.n_units else units)


def check_coefficients(instance: Instance, solver: str, limit: float | None) -> None:
    """Refuse (UsageError, one line naming the row) a coefficient beyond ``limit``."""
    if limit is None or instance.n_rows == 0:
        return
    for what, data, name in [("value", instance.value, "")] + [
            ("cost", instance.costs[k], instance.budgets[k].name)
            for k in range(instance.n_budgets)]:
        big = np.flatnonzero(np.abs(data) >= limit)
        if big.size:
            r = int(big[0])
            unit = instance.unit_ids[instance.unit_of_row[r]]
            unit = unit.item() if isinstance(unit, np.generic) else unit
            option = instance.option_labels[instance.option_codes[r]]
            of = f"budget {name!r} {what}" if name else what
            raise UsageError(
                f"solver {solver!r}: {of} {float(data[r]):g} of unit {unit!r}, option "
                f"{option!r} (table row {r + 1}) is beyond the {limit:g} it can hold "
                f"({big.size} such entr{'y' if big.size == 1 else 'ies'}) and the budget is "
                "large enough for it to fit; express the budget in larger units, or use "
                "solver 'dual'"
            )
