"""The λ path of the Lagrangian policy induced by predictions, and step functions along it.

For predictions (r̂, ĉ) of shape (N, M) the Lagrangian policy at a multiplier λ >= 0 is the
engine's hull rule (engine.dual.kernels): each unit starts at its cheapest predicted option (the
most valuable among equally cheap ones) and takes every increment of its upper convex hull of
(ĉ, r̂) whose efficiency Δr̂ / Δĉ is > λ. That is argmax_j (r̂_ij - λ ĉ_ij) except at exact ties.

As λ falls from +inf to 0, unit i moves along its hull; every move is an *event*
(λ = the increment's efficiency, unit, from_option, to_option). Sorting the events by λ
descending and grouping equal λ gives the distinct breakpoints e_1 > e_2 > ... > e_S > 0 and
the S + 1 policies ("steps") the Lagrangian policy can be:

* step 0 is the start policy (every λ > e_1);
* step s (1 <= s <= S) is the policy for λ in [e_{s+1}, e_s) (e_{S+1} = 0): every increment
  with efficiency >= e_s. At λ = e_s exactly the policy is still step s - 1 (the rule takes
  efficiencies strictly above λ).

Any additive statistic sum_i f_i(π(i)) is a step function of λ with these steps; it is computed
for every step at once from the events (one sort, then bincount / cumsum), which is how policy
value and spend on randomised data (IPW), or true value and spend on a simulator, are matched to
a budget without bisection (papers.md §0.3 / §0.5; :func:`lambda_for_budget`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from engine.dual.kernels import Hulls, upper_hulls
from formulations.errors import UsageError


@dataclass(frozen=True)
class Events:
    """The moves of the Lagrangian policy, sorted by λ descending (see :class:`LambdaPath`)."""

    lam: np.ndarray
    """(E,) λ of each move: at λ just below it, the unit moves."""
    unit: np.ndarray
    from_option: np.ndarray
    to_option: np.ndarray
    step: np.ndarray
    """(E,) step 1..S of each move (moves at equal λ share a step)."""


@dataclass(frozen=True, eq=False)
class LambdaPath:
    """The Lagrangian policy of predictions along λ (see the module docstring).

    Attributes
    ----------
    start:
        (N,) int64 option of each unit at λ = +inf (its cheapest predicted option).
    breakpoints:
        (S,) float64 distinct event λ, strictly decreasing: ``breakpoints[s - 1]`` = e_s.
    n_options:
        M, the number of columns of the predictions.
    hulls:
        the :class:`engine.dual.kernels.Hulls` the path was built from.
    increment_step:
        (M-1, N) int32: row j-1 holds the step (1..S) at which each unit's hull increment that
        ends at sorted column j is taken, S + 1 where there is none.
    from_column:
        (M-1, N) sorted column each of those increments starts from (int16 unless M is huge;
        :meth:`chosen_steps` returns options in this dtype).
    event_unit, event_column, event_step:
        (E,) the moves in step order: unit, sorted column it moves to, step.

    :attr:`events` (with options and λ) is built from these on first use; the step-function
    evaluators work on the (M-1, N) layout directly.
    """

    start: np.ndarray
    breakpoints: np.ndarray
    n_options: int
    hulls: Hulls
    increment_step: np.ndarray
    from_column: np.ndarray
    event_unit: np.ndarray
    event_column: np.ndarray
    event_step: np.ndarray

    @property
    def n_units(self) -> int:
        return int(self.start.shape[0])

    @property
    def n_steps(self) -> int:
        """S + 1: the number of distinct policies on the path (steps 0..S)."""
        return int(self.breakpoints.shape[0]) + 1

    @property
    def no_step(self) -> int:
        """The value of :attr:`increment_step` where a unit has no increment (S + 1)."""
        return self.n_steps

    @cached_property
    def events(self) -> Events:
        """Every move (λ, unit, from_option, to_option, step), sorted by λ descending."""
        unit = self.event_unit.astype(np.int64)
        col = self.event_column.astype(np.int64)
        step = self.event_step.astype(np.int64)
        from_col = self.from_column[col - 1, unit]
        return Events(
            lam=self.breakpoints[step - 1], unit=unit, from_option=self._option(unit, from_col),
            to_option=self._option(unit, col), step=step,
        )

    def _option(self, unit: np.ndarray, sorted_col: np.ndarray) -> np.ndarray:
        order = self.hulls.order
        col = np.asarray(sorted_col, dtype=np.int64)
        return col if order is None else np.asarray(order[unit, col], dtype=np.int64)

    def step_at(self, lam: float | np.ndarray) -> np.ndarray:
        """Step of the policy at multiplier(s) ``lam`` (the number of breakpoints > lam)."""
        x = np.asarray(lam, dtype=np.float64)
        asc = self.breakpoints[::-1]
        return np.asarray(asc.size - np.searchsorted(asc, x, side="right"), dtype=np.int64)

    def lam_of_step(self, step: int | np.ndarray) -> np.ndarray:
        """λ* of a step: the breakpoint just below it, e_{s+1} (0 for the last step S).

        The hull rule at λ* (efficiencies strictly above λ*) gives exactly this step.
        """
        s = np.asarray(step, dtype=np.int64)
        below = np.append(self.breakpoints, 0.0)
        return np.asarray(below[s], dtype=np.float64)

    def chosen(self, step: int) -> np.ndarray:
        """(N,) option of every unit at one step."""
        return self.chosen_steps(np.array([step]))[0]

    def chosen_at(self, lam: float) -> np.ndarray:
        """(N,) option of every unit at multiplier ``lam`` (the hull rule)."""
        return self.chosen(int(self.step_at(lam)))

    def chosen_steps(self, steps: np.ndarray) -> np.ndarray:
        """(K, N) option of every unit at each of K steps (int16 unless M > 32767).

        Replays the moves once in step order (sorted columns only grow along a unit's hull,
        so a unit's column at step s is the largest it has moved to by then).
        """
        s = np.asarray(steps, dtype=np.int64).reshape(-1)
        if s.size and (s.min() < 0 or s.max() >= self.n_steps):
            raise UsageError(f"steps: expected values in 0..{self.n_steps - 1}, got "
                             f"{s.min()}..{s.max()}")
        out = np.empty((s.size, self.n_units), dtype=self.from_column.dtype)
        order = self.hulls.order
        col = self.hulls.start.astype(self.from_column.dtype)
        rank = np.argsort(s, kind="stable")
        ends = np.searchsorted(self.event_step, s[rank], side="right")
        done = 0
        for k, end in zip(rank.tolist(), ends.tolist(), strict=True):
            if end > done:
                np.maximum.at(col, self.event_unit[done:end], self.event_column[done:end])
                done = end
            if order is None:
                out[k] = col
            else:
                out[k] = np.take_along_axis(order, col[:, None].astype(np.intp), axis=1)[:, 0]
        return out

    def _sorted(self, f: np.ndarray) -> np.ndarray:
        order = self.hulls.order
        return f if order is None else np.take_along_axis(f, order, axis=1)

    def step_values(self, f: np.ndarray) -> np.ndarray:
        """(S+1,) sum_i f[i, π_s(i)] at every step s, for a dense (N, M) statistic ``f``."""
        f = np.asarray(f, dtype=np.float64)
        if f.shape != (self.n_units, self.n_options):
            raise UsageError(f"f: expected shape (N, M) = ({self.n_units}, {self.n_options}), "
                             f"got {f.shape}")
        fs = np.ascontiguousarray(self._sorted(f).T)  # (M, N) by sorted column
        rows = np.arange(self.n_units)
        per_step = np.zeros(self.n_steps + 1)
        for j in range(1, self.n_options):
            delta = fs[j] - fs[self.from_column[j - 1], rows]
            per_step += np.bincount(self.increment_step[j - 1], weights=delta,
                                    minlength=self.n_steps + 1)
        per_step[0] = fs[self.hulls.start.astype(np.int64), rows].sum()
        return np.cumsum(per_step[: self.n_steps])

    def received_step_values(self, received: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Sum over units whose received arm the policy picks, at every step.

        The sparse statistic f_i(j) = 1[j == t_i] * a_i ("only the received arm counts"), for
        one (N,) or several (N, C) columns a; returns (S+1,) or (S+1, C). With a_i = y_i / p_i
        this is N times the IPW value of every step. A unit counts from the step it reaches
        its received arm (0 if it starts there) until the step of its next move; a received
        arm off the unit's hull never counts.
        """
        t = np.asarray(received)
        a = np.asarray(weights, dtype=np.float64)
        one = a.ndim == 1
        a2 = a[:, None] if one else a
        if t.shape != (self.n_units,) or a2.ndim != 2 or a2.shape[0] != self.n_units:
            raise UsageError(f"received/weights: expected (N,) and (N,) or (N, C) with N = "
                             f"{self.n_units}, got {t.shape} and {a.shape}")
        n, none = self.n_units, self.no_step
        order = self.hulls.order
        if order is None:
            col_t = t.astype(np.int64)
        else:
            col_t = np.full(n, -1, dtype=np.int64)
            for j in range(self.n_options):
                np.copyto(col_t, j, where=order[:, j] == t)
        s_in = np.where(col_t == self.hulls.start, 0, none).astype(np.int32)
        s_out = np.full(n, none, dtype=np.int32)
        for j in range(self.n_options - 1, 0, -1):
            inc = self.increment_step[j - 1]
            np.copyto(s_in, inc, where=col_t == j)
            # the next move after the received arm's column: steps rise along the row, so
            # walking the columns down, the last real increment seen right of col_t is it
            np.copyto(s_out, inc, where=(col_t < j) & (inc < none))
        # units never on their received arm have s_in = s_out = S + 1: a bin that is dropped
        np.copyto(s_out, none, where=s_in == none)
        cols = np.ascontiguousarray(a2.T)
        out = np.empty((a2.shape[1], self.n_steps))
        for c in range(a2.shape[1]):
            per_step = np.bincount(s_in, weights=cols[c], minlength=none + 1)
            per_step -= np.bincount(s_out, weights=cols[c], minlength=none + 1)
            np.cumsum(per_step[:none], out=out[c])
        out = out.T
        return out[:, 0] if one else out


def check_predictions(value_pred: object, cost_pred: object) -> tuple[np.ndarray, np.ndarray]:
    """Two finite float arrays of the same shape (N, M), or a UsageError naming the bad one."""
    vp = np.asarray(value_pred, dtype=np.float64)
    cp = np.asarray(cost_pred, dtype=np.float64)
    if vp.ndim != 2 or vp.shape != cp.shape or vp.shape[1] < 1:
        raise UsageError(f"value_pred/cost_pred: expected two arrays of the same shape (N, M) "
                         f"with M >= 1, got {vp.shape} and {cp.shape}")
    for name, a in (("value_pred", vp), ("cost_pred", cp)):
        if np.isfinite(a).all():
            continue
        bad = np.argwhere(~np.isfinite(a))
        if bad.size:
            i, j = (int(x) for x in bad[0])
            raise UsageError(f"{name}: expected finite numbers, found {a[i, j]!r} at unit {i}, "
                             f"arm {j}")
    return vp, cp


def lambda_path(value_pred: np.ndarray, cost_pred: np.ndarray) -> LambdaPath:
    """The λ path of the Lagrangian policy for predictions (N, M) (see the module docstring).

    Built from :func:`engine.dual.kernels.upper_hulls` and one sort of the hull increments'
    efficiencies; loops run over the M columns only. Increments whose efficiency is not > 0
    (possible only through underflow) are never taken for λ >= 0 and are left out.
    """
    return path_of_checked(*check_predictions(value_pred, cost_pred))


def path_of_checked(vp: np.ndarray, cp: np.ndarray) -> LambdaPath:
    """:func:`lambda_path` of predictions :func:`check_predictions` has already passed."""
    m = vp.shape[1]
    hulls = upper_hulls(vp, cp, keep_value=False)
    n = vp.shape[0]
    eff = np.ascontiguousarray(hulls.efficiency.T)  # (M-1, N)
    real = eff > 0
    lam = eff[real]
    row, unit = np.nonzero(real)  # row j-1 of eff: the increment ending at sorted column j
    if lam.size >= np.iinfo(np.int32).max - 2:
        raise UsageError(f"value_pred: {lam.size} hull increments; at most "
                         f"{np.iinfo(np.int32).max - 3} are supported")
    order = np.argsort(-lam)
    lam = lam[order]
    row, unit = row[order], unit[order]
    new = np.empty(lam.size, dtype=bool)
    new[:1] = True
    np.not_equal(lam[1:], lam[:-1], out=new[1:])
    breakpoints = lam[new]
    step = np.cumsum(new, dtype=np.int32)
    increment_step = np.full(eff.shape, breakpoints.size + 1, dtype=np.int32)
    increment_step.reshape(-1)[row * n + unit] = step
    # the sorted column each increment starts from: the previous hull point of its unit
    from_column = np.empty(eff.shape, dtype=np.int16 if m <= np.iinfo(np.int16).max else np.int64)
    prev = hulls.start.astype(from_column.dtype)
    for j in range(1, m):
        from_column[j - 1] = prev
        np.copyto(prev, j, where=real[j - 1])
    return LambdaPath(
        start=hulls.option_of(hulls.start), breakpoints=breakpoints, n_options=m, hulls=hulls,
        increment_step=increment_step, from_column=from_column,
        event_unit=unit.astype(np.int32 if n < np.iinfo(np.int32).max else np.int64),
        event_column=(row + 1).astype(from_column.dtype), event_step=step,
    )


@dataclass(frozen=True)
class BudgetMatch:
    """Per budget: the step of the path the matched-spend rule picks, its λ* and spend."""

    budgets: np.ndarray
    lam: np.ndarray
    step: np.ndarray
    spend: np.ndarray
    fits: np.ndarray
    """spend <= budget (False only where no policy the rule reaches fits, e.g. B < 0)."""


def lambda_for_budget(path: LambdaPath, spend: np.ndarray, budgets: np.ndarray) -> BudgetMatch:
    """λ*(B) and the step for many budgets at once, from a spend step function (S+1,).

    The rule (papers.md §0.3, exactly what bisection on λ converges to when spend is monotone):
    if the λ = 0 policy (step S) fits, λ* = 0 and step S. Otherwise walk λ down from +inf;
    λ* is the first breakpoint e_s whose step s (the policy just below it) would spend more
    than B, and the policy is step s - 1 (just above λ*). Spend need not be monotone in λ (IPW
    spend is not); a running maximum of spend over steps 1..S and one searchsorted find every
    budget's first exceeding step. A NaN spend (e.g. self-normalised with no matched unit)
    counts as exceeding every budget.
    """
    s = np.asarray(spend, dtype=np.float64)
    b = np.asarray(budgets, dtype=np.float64).reshape(-1)
    if s.shape != (path.n_steps,):
        raise UsageError(f"spend: expected one value per step ({path.n_steps},), got {s.shape}")
    if not np.all(np.isfinite(b)):
        raise UsageError(f"budgets: expected finite numbers, got {b.tolist()}")
    s = np.where(np.isnan(s), np.inf, s)
    last = path.n_steps - 1
    if last:
        running = np.maximum.accumulate(s[1:])
        first_over = np.searchsorted(running, b, side="right") + 1  # in 1..S+1
    else:
        first_over = np.ones(b.size, dtype=np.int64)
    step = np.where(s[last] <= b, last, first_over - 1).astype(np.int64)
    chosen_spend = s[step]
    return BudgetMatch(budgets=b, lam=path.lam_of_step(step), step=step, spend=chosen_spend,
                       fits=chosen_spend <= b)
