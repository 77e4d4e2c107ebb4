"""The stochastic allocation programs as data: standard-form arrays with named blocks.

Every program here maximises ``c @ x + constant`` subject to ``row_lower <= A x <= row_upper``,
``col_lower <= x <= col_upper`` and integrality on the columns flagged ``integer``. The same
arrays go to HiGHS and to OR-Tools (``engine.stochastic.milp``); ``formulations.stochastic_pyomo``
writes the same programs as readable pyomo models. Notation (``GroupedProblem``): groups g of
N_g units, options j, budgets b, scenarios s with probability p_s, limits L_sb and response
replicate r(s); n_gj = units of group g on option j.

* ``deterministic_program``  max sum v_gj n_gj  s.t. sum_j n_gj = N_g, sum c_bgj n_gj <= L_b.
  Solved once per scenario it is the **per-scenario plan** (wait-and-see); at the expected
  limits and expected response it is the **mean-budget (EV) plan**.
* ``chance_program``  one plan n; binary z_s = 1 where scenario s's budgets must hold:
  sum c_{r(s)bgj} n_gj <= L_sb + M_sb (1 - z_s),  sum p_s z_s >= 1 - alpha.
  M_sb = max spend of any plan in scenario s minus L_sb (the tightest valid big-M).
* ``two_stage_program``  first stage n (fixed before the budget is known); per scenario the
  recourse w_sgj <= n_gj keeps w_sgj units on option j and cuts the rest back to the group's
  fallback option f_g (the cheapest, e.g. control); the budget must hold in every scenario:
  sum_{j != f_g} (c_sbgj - c_sbgf) w_sgj <= L_sb - sum_g N_g c_sbgf.
  The first stage is integer. The recourse is a share (``recourse="shares"``, continuous w:
  "cut back 37.4 units' worth of cell (g, j)", deployed by sampling that many of the cell's units
  at random) or a whole count (``recourse="counts"``, integer w). Every spend in a grouped
  problem is already an expectation (per-unit mean cost x count), so whole counts buy no firmer
  budget guarantee than shares; they only forbid filling the last dollars of a scenario's budget
  with a fraction of a unit. That makes each scenario a bounded integer knapsack and the block
  program a hard MILP: on K = 50, M = 8 with 50 scenarios HiGHS does not prove the 1e-9 gap in
  120 s with counts (gap 2.1e-7 to 2.4e-7) and proves it in about 1.4 s with shares
  (benchmarks/bench_stochastic.py). The shares optimum is an upper bound on the counts optimum.
  ``cutback="cheaper"`` widens the recourse from "back to the fallback" to "down to any option
  that costs no more on every budget and replicate, and strictly less on one" (a 20% coupon
  downgraded to a 10% one), with flows y_s(g, j->j') <= n_gj out of each first-stage cell.
* ``violation_program``  the 0-1 knapsack over scenarios that gives the perfect-information
  value of the chance-constrained program (see ``engine.stochastic.plans``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from formulations.errors import UsageError
from formulations.standard_form import StandardForm
from formulations.stochastic_problem import GroupedProblem, ScenarioSet

#: slack on the probability row so that p_s summing to 0.7 in floating point still reaches 0.7
PROB_SLACK = 1e-9

#: the two-stage recourse kinds (see the module docstring); the first is the default
RECOURSE = ("shares", "counts")
#: where a two-stage cut-back may move a unit: the group's fallback, or any cheaper option
CUTBACK = ("fallback", "cheaper")


#: the programs here are standard forms (formulations.standard_form): one program type, solved
#: by the same backends as allocation instances
LinearProgram = StandardForm


class _Rows:
    """Accumulates sparse rows block by block (COO triplets), vectorised per block."""

    def __init__(self) -> None:
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.up: list[np.ndarray] = []
        self.blocks: dict[str, tuple[int, int]] = {}
        self.n = 0

    def add(
        self, name: str, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray,
        lower: np.ndarray, upper: np.ndarray,
    ) -> None:
        """``rows`` are local (0 .. len(lower)-1) within the block."""
        k = int(np.asarray(lower).shape[0])
        self.r.append(np.asarray(rows, dtype=np.int64) + self.n)
        self.c.append(np.asarray(cols, dtype=np.int64))
        self.v.append(np.asarray(vals, dtype=np.float64))
        self.lo.append(np.asarray(lower, dtype=np.float64))
        self.up.append(np.asarray(upper, dtype=np.float64))
        self.blocks[name] = (self.n, self.n + k)
        self.n += k

    def matrix(self, n_cols: int) -> sp.csr_matrix:
        if not self.r:
            return sp.csr_matrix((0, n_cols))
        A = sp.csr_matrix(
            (np.concatenate(self.v), (np.concatenate(self.r), np.concatenate(self.c))),
            shape=(self.n, n_cols),
        )
        A.sum_duplicates()
        A.sort_indices()
        return A

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.lo:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(self.lo), np.concatenate(self.up)


def _assignment_rows(problem: GroupedProblem, rows: _Rows, offset: int = 0) -> None:
    """sum_j n_gj = N_g for every group, and sum_g n_gj <= cap_j for limited options."""
    g, m = problem.n_groups, problem.n_options
    cols = offset + np.arange(g * m)
    rows.add("choice", np.repeat(np.arange(g), m), cols, np.ones(g * m),
             problem.sizes.astype(float), problem.sizes.astype(float))
    capped = np.flatnonzero(np.isfinite(problem.capacities))
    if capped.size:
        rr = np.repeat(np.arange(capped.size), g)
        cc = offset + (np.arange(g)[None, :] * m + capped[:, None]).reshape(-1)
        rows.add("capacity", rr, cc, np.ones(rr.size), np.full(capped.size, -np.inf),
                 problem.capacities[capped])


def _count_bounds(problem: GroupedProblem) -> np.ndarray:
    """(G*M,) upper bound N_g on valid cells, 0 on invalid ones."""
    return np.where(problem.valid, problem.sizes[:, None], 0).reshape(-1).astype(np.float64)


def expected_response(
    problem: GroupedProblem, scenarios: ScenarioSet
) -> tuple[np.ndarray, np.ndarray]:
    """(value (G, M), costs (B, G, M)) averaged over scenarios with their probabilities."""
    _check_replicates(problem, scenarios)
    w = np.bincount(scenarios.response, weights=scenarios.probability,
                    minlength=problem.n_replicates)
    value = np.tensordot(w, problem.value, axes=1)
    costs = np.tensordot(w, problem.costs, axes=1)
    return value, costs


def _check_replicates(problem: GroupedProblem, scenarios: ScenarioSet) -> None:
    if scenarios.limits.shape[1] != problem.n_budgets:
        raise UsageError(
            f"scenarios: limits have {scenarios.limits.shape[1]} columns, the problem has "
            f"{problem.n_budgets} budget(s) {list(problem.budget_names)}"
        )
    if scenarios.response.size and (
        scenarios.response.min() < 0 or scenarios.response.max() >= problem.n_replicates
    ):
        raise UsageError(
            f"scenarios: response replicate index out of range 0..{problem.n_replicates - 1}"
        )


def deterministic_program(
    problem: GroupedProblem,
    limits: np.ndarray,
    *,
    value: np.ndarray | None = None,
    costs: np.ndarray | None = None,
    replicate: int = 0,
    name: str = "deterministic",
) -> LinearProgram:
    """max sum v n s.t. choice rows, one budget row per budget (limits (B,); inf = no budget)."""
    g, m, nb = problem.n_groups, problem.n_options, problem.n_budgets
    v = problem.value[replicate] if value is None else np.asarray(value, dtype=np.float64)
    cst = problem.costs[replicate] if costs is None else np.asarray(costs, dtype=np.float64)
    lim = np.asarray(limits, dtype=np.float64).reshape(-1)
    if lim.shape != (nb,):
        raise UsageError(f"limits: expected {nb} values (one per budget), got {lim.shape[0]}")
    n = g * m
    rows = _Rows()
    _assignment_rows(problem, rows)
    rr = np.repeat(np.arange(nb), n)
    rows.add("budget", rr, np.tile(np.arange(n), nb), cst.reshape(-1),
             np.full(nb, -np.inf), lim)
    lo, up = rows.bounds()
    return LinearProgram(
        name=name,
        c=np.where(problem.valid, v, 0.0).reshape(-1),
        A=rows.matrix(n),
        row_lower=lo,
        row_upper=up,
        col_lower=np.zeros(n),
        col_upper=_count_bounds(problem),
        integer=np.ones(n, dtype=bool),
        col_blocks={"n": (0, n, (g, m))},
        row_blocks=rows.blocks,
        info={"limits": lim},
    )


def max_spend(problem: GroupedProblem, replicate: int) -> np.ndarray:
    """(B,) the largest spend any plan can reach on each budget under a replicate's costs."""
    c = np.where(problem.valid[None], problem.costs[replicate], -np.inf)
    per_group = c.max(axis=2)
    # capacities could lower this; ignoring them only loosens the big-M, never invalidates it
    return np.asarray((per_group * problem.sizes[None, :]).sum(axis=1), dtype=np.float64)


def chance_program(
    problem: GroupedProblem,
    scenarios: ScenarioSet,
    alpha: float,
    *,
    order_cuts: bool = True,
    name: str = "chance-constrained",
) -> LinearProgram:
    """One plan meeting every budget in scenarios of total probability >= 1 - alpha.

    Columns: n (G*M integer counts), z (S binaries). ``order_cuts`` adds z_s <= z_s' where
    scenario s' has the same response replicate and componentwise larger limits than s (a plan
    that fits s fits s'); this removes symmetric solutions without changing the optimum.
    """
    if not 0.0 <= alpha < 1.0:
        raise UsageError(f"alpha: expected 0 <= alpha < 1, got {alpha!r}")
    _check_replicates(problem, scenarios)
    g, m, nb = problem.n_groups, problem.n_options, problem.n_budgets
    s = scenarios.n_scenarios
    n = g * m
    vbar, _ = expected_response(problem, scenarios)
    rows = _Rows()
    _assignment_rows(problem, rows)
    # per (scenario, budget): sum c n + M z <= L + M
    bigm = np.empty((s, nb))
    for r in np.unique(scenarios.response):
        idx = scenarios.response == r
        bigm[idx] = np.maximum(max_spend(problem, int(r))[None, :] - scenarios.limits[idx], 0.0)
    cost_rows = problem.costs[scenarios.response].reshape(s * nb, n)  # (S*B, G*M)
    local = np.repeat(np.arange(s * nb), n)
    cols = np.tile(np.arange(n), s * nb)
    z_rows = np.arange(s * nb)
    z_cols = n + np.repeat(np.arange(s), nb)
    rows.add(
        "budget",
        np.concatenate([local, z_rows]),
        np.concatenate([cols, z_cols]),
        np.concatenate([cost_rows.reshape(-1), bigm.reshape(-1)]),
        np.full(s * nb, -np.inf),
        (scenarios.limits + bigm).reshape(-1),
    )
    rows.add("probability", np.zeros(s, dtype=np.int64), n + np.arange(s), scenarios.probability,
             np.array([1.0 - alpha - PROB_SLACK]), np.array([np.inf]))
    if order_cuts:
        pairs = _dominance_chain(scenarios)
        if pairs.size:
            k = pairs.shape[0]
            rows.add("order", np.repeat(np.arange(k), 2), (n + pairs).reshape(-1),
                     np.tile([1.0, -1.0], k), np.full(k, -np.inf), np.zeros(k))
    lo, up = rows.bounds()
    return LinearProgram(
        name=name,
        c=np.concatenate([np.where(problem.valid, vbar, 0.0).reshape(-1), np.zeros(s)]),
        A=rows.matrix(n + s),
        row_lower=lo,
        row_upper=up,
        col_lower=np.zeros(n + s),
        col_upper=np.concatenate([_count_bounds(problem), np.ones(s)]),
        integer=np.ones(n + s, dtype=bool),
        col_blocks={"n": (0, n, (g, m)), "z": (n, n + s, (s,))},
        row_blocks=rows.blocks,
        info={"alpha": alpha, "bigm": bigm},
    )


def _dominance_chain(scenarios: ScenarioSet) -> np.ndarray:
    """(k, 2) pairs (s, s') with z_s <= z_s': consecutive scenarios of one replicate, sorted by
    limits, where the later one's limits are componentwise >= the earlier one's."""
    out: list[tuple[int, int]] = []
    for r in np.unique(scenarios.response):
        idx = np.flatnonzero(scenarios.response == r)
        order = idx[np.lexsort(scenarios.limits[idx].T[::-1])]
        lim = scenarios.limits[order]
        ok = np.all(lim[1:] >= lim[:-1], axis=1)
        out.extend(zip(order[:-1][ok], order[1:][ok], strict=True))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def quantile_limits(scenarios: ScenarioSet, alpha: float) -> np.ndarray | None:
    """The budget quantile that the chance constraint reduces to, or None where it does not.

    Where every scenario shares the same costs (one response replicate) and the scenario limits
    are totally ordered componentwise (always so for one budget), a plan meets scenario s iff
    its spend fits L_s, so the scenarios it meets are an upper set and the chance constraint is
    equivalent to fitting L_(i*), the largest sorted limit whose upper tail has probability
    >= 1 - alpha.
    """
    if not 0.0 <= alpha < 1.0:
        raise UsageError(f"alpha: expected 0 <= alpha < 1, got {alpha!r}")
    if np.unique(scenarios.response).size > 1:
        return None
    order = np.lexsort(scenarios.limits.T[::-1])
    lim = scenarios.limits[order]
    if not np.all(lim[1:] >= lim[:-1]):
        return None
    tail = np.cumsum(scenarios.probability[order][::-1])[::-1]  # P(L >= L_(i))
    ok = np.flatnonzero(tail >= 1.0 - alpha - PROB_SLACK)
    return np.asarray(lim[int(ok.max())], dtype=np.float64)


def two_stage_program(
    problem: GroupedProblem,
    scenarios: ScenarioSet,
    *,
    penalty: float = 0.0,
    recourse: str = "shares",
    cutback: str = "fallback",
    name: str = "two-stage",
) -> LinearProgram:
    """First-stage counts n, per-scenario kept amounts w_s (cut-back to the fallback option).

    ``penalty`` is a value lost per unit cut back (e.g. the goodwill cost of withdrawing an offer).
    ``recourse`` is ``"shares"`` (continuous w) or ``"counts"`` (integer w); see the module
    docstring. The objective is the expected value over scenarios; the budget holds in every
    scenario.
    """
    if not penalty >= 0:
        raise UsageError(f"penalty: expected >= 0, got {penalty!r}")
    if recourse not in RECOURSE:
        raise UsageError(f"recourse: expected one of {list(RECOURSE)}, got {recourse!r}")
    if cutback not in CUTBACK:
        raise UsageError(f"cutback: expected one of {list(CUTBACK)}, got {cutback!r}")
    _check_replicates(problem, scenarios)
    fb_opts = np.unique(problem.fallback)
    if np.any(np.isfinite(problem.capacities[fb_opts])):
        raise UsageError(
            "two-stage: a capacity on a fallback option would make cut-backs infeasible; "
            f"remove the capacity on {[problem.option_labels[j] for j in fb_opts]}"
        )
    if cutback == "cheaper":
        return _downgrade_program(problem, scenarios, penalty=penalty, recourse=recourse,
                                  name=name)
    g, m, nb = problem.n_groups, problem.n_options, problem.n_budgets
    s = scenarios.n_scenarios
    n = g * m
    gi = np.arange(g)
    keep = problem.valid.copy()
    keep[gi, problem.fallback] = False
    cells = np.flatnonzero(keep.reshape(-1))  # (g, j) cells a unit can be kept on
    q = cells.size
    cg, cj = np.divmod(cells, m)
    p = scenarios.probability
    resp = scenarios.response
    v = problem.value[resp]  # (S, G, M)
    c = problem.costs[resp]  # (S, B, G, M)
    v_fb = v[:, gi, problem.fallback]  # (S, G)
    c_fb = c[:, :, gi, problem.fallback]  # (S, B, G)
    dv = v[:, cg, cj] - v_fb[:, cg]  # (S, Q)
    dc = c[:, :, cg, cj] - c_fb[:, :, cg]  # (S, B, Q)
    constant = float(p @ (v_fb @ problem.sizes))
    base_spend = c_fb @ problem.sizes  # (S, B)

    rows = _Rows()
    _assignment_rows(problem, rows)
    # w_sq - n_cell(q) <= 0
    k = s * q
    wcol = n + np.arange(k)
    ncol = np.tile(cells, s)
    rows.add("link", np.repeat(np.arange(k), 2), np.stack([wcol, ncol], axis=1).reshape(-1),
             np.tile([1.0, -1.0], k), np.full(k, -np.inf), np.zeros(k))
    br = np.repeat(np.arange(s * nb), q)
    bc = n + np.repeat(np.arange(s), nb * q) * q + np.tile(np.arange(q), s * nb)
    rows.add("budget", br, bc, dc.reshape(-1), np.full(s * nb, -np.inf),
             (scenarios.limits - base_spend).reshape(-1))
    lo, up = rows.bounds()
    wub = np.tile(problem.sizes[cg].astype(float), s)
    return LinearProgram(
        name=name,
        # penalty on cut-backs n_q - w_sq: -penalty n_q (probabilities sum to 1) + penalty w_sq
        c=np.concatenate([-penalty * keep.reshape(-1), (p[:, None] * (dv + penalty)).reshape(-1)]),
        A=rows.matrix(n + k),
        row_lower=lo,
        row_upper=up,
        col_lower=np.zeros(n + k),
        col_upper=np.concatenate([_count_bounds(problem), wub]),
        integer=np.concatenate([np.ones(n, dtype=bool), np.full(k, recourse == "counts")]),
        col_blocks={"n": (0, n, (g, m)), "w": (n, n + k, (s, q))},
        row_blocks=rows.blocks,
        constant=constant,
        info={"cells": cells, "penalty": penalty, "recourse": recourse, "cutback": "fallback"},
    )


def downgrade_pairs(problem: GroupedProblem) -> np.ndarray:
    """(P, 3) the moves (g, j, j') a ``cutback="cheaper"`` recourse may make.

    j -> fallback for every valid j != fallback (as ``cutback="fallback"``, so the wider recourse
    is never worse), plus j -> j' where j' costs no more than j on every budget and replicate and
    strictly less on at least one. Options with a capacity are never a destination (a downgrade
    could break the capacity).
    """
    c = problem.costs  # (R, B, G, M)
    le = np.all(c[..., :, None] <= c[..., None, :], axis=(0, 1))  # (G, j', j): c_j' <= c_j
    lt = np.any(c[..., :, None] < c[..., None, :], axis=(0, 1))
    ok = np.transpose(le & lt, (0, 2, 1))  # (G, j, j')
    g = problem.n_groups
    to_fb = np.zeros_like(ok)
    to_fb[np.arange(g), :, problem.fallback] = True
    ok = ok | to_fb
    ok &= problem.valid[:, :, None] & problem.valid[:, None, :]
    ok[:, np.arange(problem.n_options), np.arange(problem.n_options)] = False
    ok[:, :, np.isfinite(problem.capacities)] = False
    return np.argwhere(ok)


def _downgrade_program(
    problem: GroupedProblem, scenarios: ScenarioSet, *, penalty: float, recourse: str, name: str,
) -> LinearProgram:
    """Two-stage program whose recourse moves units down to cheaper options (``downgrade_pairs``).

    Columns: n (G*M first-stage counts), y (S, P) units moved along pair p in scenario s.
    Realised counts r_sgj = n_gj - (moves out of (g, j)) + (moves into (g, j)).
    """
    g, m, nb = problem.n_groups, problem.n_options, problem.n_budgets
    s = scenarios.n_scenarios
    n = g * m
    pairs = downgrade_pairs(problem)
    npairs = pairs.shape[0]
    pg, pj, pt = pairs[:, 0], pairs[:, 1], pairs[:, 2]
    src = pg * m + pj  # the first-stage cell a move leaves
    p = scenarios.probability
    resp = scenarios.response
    v = problem.value[resp]  # (S, G, M)
    c = problem.costs[resp]  # (S, B, G, M)
    dv = v[:, pg, pt] - v[:, pg, pj]  # (S, P)
    dc = c[:, :, pg, pt] - c[:, :, pg, pj]  # (S, B, P)
    vbar = np.tensordot(p, v, axes=1)  # (G, M) the first stage's expected value

    rows = _Rows()
    _assignment_rows(problem, rows)
    k = s * npairs
    ycol = n + np.arange(k)
    # moves out of each (s, g, j): sum_p y_sp - n_gj <= 0, one row per (s, source cell)
    cells, local = np.unique(src, return_inverse=True)
    nc = cells.size
    out_rows = (np.arange(s)[:, None] * nc + local[None, :]).reshape(-1)
    rows.add("outflow",
             np.concatenate([out_rows, np.arange(s * nc)]),
             np.concatenate([ycol, np.tile(cells, s)]),
             np.concatenate([np.ones(k), -np.ones(s * nc)]),
             np.full(s * nc, -np.inf), np.zeros(s * nc))
    # budget per (s, b): sum c_sbgj n_gj + sum_p dc_sbp y_sp <= L_sb
    br_n = np.repeat(np.arange(s * nb), n)
    bc_n = np.tile(np.arange(n), s * nb)
    br_y = np.repeat(np.arange(s * nb), npairs)
    bc_y = n + np.repeat(np.arange(s), nb * npairs) * npairs + np.tile(np.arange(npairs), s * nb)
    rows.add("budget", np.concatenate([br_n, br_y]), np.concatenate([bc_n, bc_y]),
             np.concatenate([c.reshape(-1), dc.reshape(-1)]),
             np.full(s * nb, -np.inf), scenarios.limits.reshape(-1))
    lo, up = rows.bounds()
    return LinearProgram(
        name=name,
        c=np.concatenate([np.where(problem.valid, vbar, 0.0).reshape(-1),
                          (p[:, None] * (dv - penalty)).reshape(-1)]),
        A=rows.matrix(n + k),
        row_lower=lo,
        row_upper=up,
        col_lower=np.zeros(n + k),
        col_upper=np.concatenate([_count_bounds(problem),
                                  np.tile(problem.sizes[pg].astype(float), s)]),
        integer=np.concatenate([np.ones(n, dtype=bool), np.full(k, recourse == "counts")]),
        col_blocks={"n": (0, n, (g, m)), "y": (n, n + k, (s, npairs))},
        row_blocks=rows.blocks,
        info={"pairs": pairs, "penalty": penalty, "recourse": recourse, "cutback": "cheaper"},
    )


def recourse_counts(program: LinearProgram, problem: GroupedProblem, x: np.ndarray) -> np.ndarray:
    """(S, G, M) the realised counts per scenario of a two-stage solution x."""
    if program.info.get("cutback") == "cheaper":
        pairs = np.asarray(program.info["pairs"])
        y = program.block(x, "y")  # (S, P)
        first = program.block(x, "n")
        real = np.repeat(first[None].astype(np.float64), y.shape[0], axis=0)
        sidx = np.repeat(np.arange(y.shape[0]), pairs.shape[0])
        gg, jj, tt = (np.tile(pairs[:, i], y.shape[0]) for i in range(3))
        np.add.at(real, (sidx, gg, jj), -y.reshape(-1))
        np.add.at(real, (sidx, gg, tt), y.reshape(-1))
        return real
    cells = np.asarray(program.info["cells"])
    w = program.block(x, "w")
    s = w.shape[0]
    g, m = problem.n_groups, problem.n_options
    flat = np.zeros((s, g * m))
    flat[:, cells] = w
    out = flat.reshape(s, g, m)
    kept = out.sum(axis=2)
    out[:, np.arange(g), problem.fallback] = problem.sizes[None, :] - kept
    return out


def recourse_moves(program: LinearProgram, x: np.ndarray) -> np.ndarray:
    """(S,) units moved by the cut-back in each scenario of a two-stage solution x."""
    if program.info.get("cutback") == "cheaper":
        return np.asarray(program.block(x, "y").sum(axis=1), dtype=np.float64)
    cells = np.asarray(program.info["cells"])
    first = program.block(x, "n").reshape(-1)[cells]
    return np.asarray((first[None, :] - program.block(x, "w")).sum(axis=1), dtype=np.float64)


def violation_program(
    probability: np.ndarray, gain: np.ndarray, alpha: float, forced: np.ndarray | None = None
) -> LinearProgram:
    """max sum p_s gain_s y_s  s.t.  sum p_s y_s <= alpha, y binary (which scenarios to break).

    ``forced`` scenarios (no plan fits their budget) have y_s fixed to 1.
    """
    s = probability.shape[0]
    lower = np.zeros(s) if forced is None else np.asarray(forced, dtype=np.float64)
    rows = _Rows()
    rows.add("probability", np.zeros(s, dtype=np.int64), np.arange(s), probability,
             np.array([-np.inf]), np.array([alpha + PROB_SLACK]))
    lo, up = rows.bounds()
    return LinearProgram(
        name="violation knapsack",
        c=probability * gain,
        A=rows.matrix(s),
        row_lower=lo,
        row_upper=up,
        col_lower=lower,
        col_upper=np.ones(s),
        integer=np.ones(s, dtype=bool),
        col_blocks={"y": (0, s, (s,))},
        row_blocks=rows.blocks,
    )


def plan_spend(problem: GroupedProblem, counts: np.ndarray, scenarios: ScenarioSet) -> np.ndarray:
    """(S, B) spend of a fixed plan (G, M) under each scenario's response."""
    c = problem.costs[scenarios.response]  # (S, B, G, M)
    return np.asarray(np.einsum("sbgm,gm->sb", c, counts), dtype=np.float64)


def plan_value(problem: GroupedProblem, counts: np.ndarray, scenarios: ScenarioSet) -> np.ndarray:
    """(S,) value of a fixed plan (G, M) under each scenario's response."""
    v = problem.value[scenarios.response]
    return np.asarray(np.einsum("sgm,gm->s", v, counts), dtype=np.float64)
