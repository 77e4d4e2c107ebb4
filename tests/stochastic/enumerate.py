"""Brute force over every allocation of a tiny grouped problem: the reference for the programs."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import numpy as np

from formulations.stochastic_problem import GroupedProblem, ScenarioSet

TOL = 1e-9


def compositions(total: int, valid: np.ndarray) -> Iterator[tuple[int, ...]]:
    """Every way to split ``total`` units over the valid options (counts per option)."""
    m = valid.shape[0]
    for combo in itertools.product(range(total + 1), repeat=m):
        if sum(combo) == total and all(c == 0 or valid[j] for j, c in enumerate(combo)):
            yield combo


def all_plans(problem: GroupedProblem) -> list[np.ndarray]:
    per_group = [
        list(compositions(int(problem.sizes[g]), problem.valid[g])) for g in range(problem.n_groups)
    ]
    return [np.array(p, dtype=float) for p in itertools.product(*per_group)]


def fits(spend: np.ndarray, limits: np.ndarray) -> bool:
    return bool(np.all(spend <= limits + TOL * np.maximum(1.0, np.abs(limits))))


def value_of(problem: GroupedProblem, counts: np.ndarray, r: int) -> float:
    return float((problem.value[r] * counts).sum())


def spend_of(problem: GroupedProblem, counts: np.ndarray, r: int) -> np.ndarray:
    return np.einsum("bgm,gm->b", problem.costs[r], counts)


def scenario_optimum(problem: GroupedProblem, limits: np.ndarray, r: int) -> float:
    best = -np.inf
    for n in all_plans(problem):
        if fits(spend_of(problem, n, r), limits):
            best = max(best, value_of(problem, n, r))
    return best


def chance_optimum(problem: GroupedProblem, sc: ScenarioSet, alpha: float) -> float:
    best = -np.inf
    for n in all_plans(problem):
        met = sum(
            sc.probability[s]
            for s in range(sc.n_scenarios)
            if fits(spend_of(problem, n, int(sc.response[s])), sc.limits[s])
        )
        if met >= 1 - alpha - 1e-9:
            ev = sum(sc.probability[s] * value_of(problem, n, int(sc.response[s]))
                     for s in range(sc.n_scenarios))
            best = max(best, ev)
    return best


def fallback_targets(problem: GroupedProblem, g: int, j: int) -> list[int]:
    """Where ``cutback="fallback"`` may move a unit of group g on option j: the fallback only."""
    f = int(problem.fallback[g])
    return [] if j == f else [f]


def cheaper_targets(problem: GroupedProblem, g: int, j: int) -> list[int]:
    """Options a unit of group g on option j may be downgraded to, written out by loops: the
    fallback, and any valid uncapped option costing no more on every (replicate, budget) and
    strictly less on one."""
    out = []
    for t in range(problem.n_options):
        if t == j or not problem.valid[g, t] or np.isfinite(problem.capacities[t]):
            continue
        cj = problem.costs[:, :, g, j]
        ct = problem.costs[:, :, g, t]
        if t == int(problem.fallback[g]) or (np.all(ct <= cj) and np.any(ct < cj)):
            out.append(t)
    return out


Targets = Callable[[GroupedProblem, int, int], list[int]]


def recourse_optimum(
    problem: GroupedProblem, first: np.ndarray, limits: np.ndarray, r: int, penalty: float = 0.0,
    targets: Targets = fallback_targets,
) -> float:
    """Whole units: every unit either stays or moves to one of its ``targets``."""
    units = [(g, j) for g in range(problem.n_groups) for j in range(problem.n_options)
             for _ in range(int(first[g, j]))]
    options = [[j, *targets(problem, g, j)] for g, j in units]
    best = -np.inf
    for dest in itertools.product(*options):
        n = np.zeros_like(first)
        for (g, _), t in zip(units, dest, strict=True):
            n[g, t] += 1
        moved = sum(t != j for (_, j), t in zip(units, dest, strict=True))
        if fits(spend_of(problem, n, r), limits):
            best = max(best, value_of(problem, n, r) - penalty * moved)
    return best


def share_recourse_optimum(
    problem: GroupedProblem, first: np.ndarray, limits: np.ndarray, r: int, penalty: float = 0.0,
    targets: Targets = fallback_targets,
) -> float:
    """Shares: an LP over the amounts moved along each (g, j -> t), built by loops (scipy's
    linprog), independent of the program under test."""
    from scipy.optimize import linprog

    moves = [(g, j, t) for g in range(problem.n_groups) for j in range(problem.n_options)
             if first[g, j] > 0 for t in targets(problem, g, j)]
    base_value = value_of(problem, first, r)
    base_spend = spend_of(problem, first, r)
    if not moves:
        return base_value if fits(base_spend, limits) else -np.inf
    gain = np.array([problem.value[r][g, t] - problem.value[r][g, j] - penalty
                     for g, j, t in moves])
    dc = np.array([[problem.costs[r][b, g, t] - problem.costs[r][b, g, j] for g, j, t in moves]
                   for b in range(problem.n_budgets)])
    sources = sorted({(g, j) for g, j, _ in moves})
    out = np.array([[1.0 if (g, j) == src else 0.0 for g, j, _ in moves] for src in sources])
    res = linprog(-gain, A_ub=np.vstack([dc, out]),
                  b_ub=np.concatenate([limits - base_spend, [first[g, j] for g, j in sources]]),
                  bounds=[(0, None)] * len(moves), method="highs")
    if res.status == 2:
        return -np.inf
    assert res.status == 0, res.message
    return base_value - float(res.fun)


def two_stage_optimum(
    problem: GroupedProblem, sc: ScenarioSet, penalty: float = 0.0, recourse: str = "counts",
    cutback: str = "fallback",
) -> float:
    """Every integer first stage, each scenario's cut-back solved exactly (whole units by
    enumeration, shares by an LP)."""
    inner = recourse_optimum if recourse == "counts" else share_recourse_optimum
    targets = fallback_targets if cutback == "fallback" else cheaper_targets
    best = -np.inf
    for n in all_plans(problem):
        ev = sum(
            sc.probability[s]
            * inner(problem, n, sc.limits[s], int(sc.response[s]), penalty, targets)
            for s in range(sc.n_scenarios)
        )
        best = max(best, ev)
    return best
