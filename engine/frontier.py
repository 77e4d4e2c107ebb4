"""The LP frontier: the exact LP value of a one-budget instance as a function of its budget."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Frontier:
    """The exact LP value as a function of one budget: concave, piecewise linear.

    ``budget[i]`` and ``value[i]`` are its breakpoints in increasing budget order (the first is
    every unit at its hull start, the last every unit at its most valuable option); beyond the
    last one the value stays flat, and below the first one no allocation is feasible. ``lam[i]``
    is the slope of the segment from breakpoint i to i+1 (the optimal multiplier for budgets
    strictly inside it): one entry fewer, non-increasing. engine.dual.sweep.lp_frontier makes
    it from one sort of the hull increments.
    """

    budget: np.ndarray
    value: np.ndarray
    lam: np.ndarray | None = None
    """Slope of each segment (one entry fewer than ``budget``), where the engine gives it."""

    def value_at(self, b: np.ndarray) -> np.ndarray:
        b = np.asarray(b, dtype=np.float64)
        v = np.interp(b, self.budget, self.value)
        return np.where(b < self.budget[0] - 1e-12 * max(1.0, abs(self.budget[0])), np.nan, v)

    def slope_at(self, b: np.ndarray) -> np.ndarray:
        """Right derivative: the value of one more (infinitesimal) unit of budget at ``b``."""
        b = np.asarray(b, dtype=np.float64)
        if self.lam is not None:
            slopes = np.asarray(self.lam, dtype=np.float64)
        else:
            db = np.diff(self.budget)
            dv = np.diff(self.value)
            with np.errstate(divide="ignore", invalid="ignore"):
                slopes = np.where(db > 0, dv / np.where(db > 0, db, 1.0), 0.0)
        seg = np.searchsorted(self.budget, b, side="right") - 1
        out = np.zeros(b.shape)
        inside = (seg >= 0) & (seg < slopes.size)
        out[inside] = slopes[seg[inside]]
        out[seg < 0] = np.nan
        return out
