"""Brute force over every allocation of a tiny grouped problem: the reference for the programs."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

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


def recourse_optimum(
    problem: GroupedProblem, first: np.ndarray, limits: np.ndarray, r: int, penalty: float = 0.0
) -> float:
    """Best value when units may only stay on their first-stage option or move to the fallback."""
    g_idx = range(problem.n_groups)
    choices = []
    for g in g_idx:
        f = int(problem.fallback[g])
        opts = [j for j in range(problem.n_options) if j != f and first[g, j] > 0]
        choices.append([(opts, kept) for kept in itertools.product(
            *[range(int(first[g, j]) + 1) for j in opts])])
    best = -np.inf
    for combo in itertools.product(*choices):
        n = np.zeros_like(first)
        moved = 0.0
        for g, (opts, kept) in enumerate(combo):
            for j, k in zip(opts, kept, strict=True):
                n[g, j] = k
                moved += first[g, j] - k
            n[g, int(problem.fallback[g])] = problem.sizes[g] - sum(kept)
        if fits(spend_of(problem, n, r), limits):
            best = max(best, value_of(problem, n, r) - penalty * moved)
    return best


def two_stage_optimum(problem: GroupedProblem, sc: ScenarioSet, penalty: float = 0.0) -> float:
    best = -np.inf
    for n in all_plans(problem):
        ev = sum(
            sc.probability[s] * recourse_optimum(problem, n, sc.limits[s], int(sc.response[s]),
                                                 penalty)
            for s in range(sc.n_scenarios)
        )
        best = max(best, ev)
    return best
