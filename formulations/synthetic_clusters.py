"""Seeded synthetic cluster programs (grouped problems) and lognormal budget scenarios.

The shape of benchmarks/bench_stochastic.py and of the regression tests that need a program of
realistic size: K clusters of 500..20,000 users, M options with list prices 0 (the control),
1 .. 3(M-1); value with diminishing returns in cost, scale and saturation varying by cluster.
"""

from __future__ import annotations

import numpy as np

from formulations.distributions import discretise
from formulations.errors import UsageError
from formulations.stochastic_problem import (
    GroupedProblem,
    ScenarioSet,
    grouped_problem,
    scenario_set,
)


def synthetic_cluster_problem(
    k: int = 50, m: int = 8, *, replicates: int = 0, seed: int = 0
) -> GroupedProblem:
    """K clusters x M options, one budget; option 0 free. ``replicates`` > 0 adds that many
    response replicates that perturb value and cost by their sampling noise (bootstrap-like)."""
    if k < 1 or m < 2:
        raise UsageError(f"synthetic_cluster_problem: expected k >= 1 and m >= 2, got {k}, {m}")
    rng = np.random.default_rng(seed)
    sizes = rng.integers(500, 20_000, k)
    price = np.concatenate([[0.0], np.linspace(1.0, 3.0 * (m - 1), m - 1)])
    cost = price[None, :] * rng.lognormal(0.0, 0.2, (k, 1))
    scale = rng.lognormal(0.0, 0.6, (k, 1))
    rate = rng.lognormal(np.log(0.3), 0.4, (k, 1))
    value = scale * (1.0 - np.exp(-rate * cost)) + rng.normal(0, 0.01, (k, m))
    value[:, 0] = 0.0
    if replicates:
        noise_v = rng.normal(0, 0.05, (replicates, k, m)) * scale[None]
        noise_c = rng.lognormal(0, 0.05, (replicates, k, m))
        v = np.concatenate([value[None], value[None] + noise_v])
        v[:, :, 0] = 0.0
        c = np.concatenate([cost[None], cost[None] * noise_c])[:, None]
        return grouped_problem(v, c, sizes, [0.0], name=f"clusters_{k}x{m}")
    return grouped_problem(value, cost, sizes, [0.0], name=f"clusters_{k}x{m}")


def lognormal_budget_scenarios(
    problem: GroupedProblem, points: int, *, share: float = 0.3, sigma: float = 0.3
) -> ScenarioSet:
    """``points`` equal-mass budget scenarios of a lognormal with median ``share`` of the spend
    that would treat everyone with the most expensive option."""
    full = float((problem.costs[0, 0].max(axis=1) * problem.sizes).sum())
    vals, probs = discretise({"kind": "lognormal", "median": share * full, "sigma": sigma,
                              "points": points})
    return scenario_set(probs, vals)
