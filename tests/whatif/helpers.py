"""Small instances shared by the what-if tests."""

from __future__ import annotations

from formulations.instance import Instance, Scenario
from formulations.synthetic import synthetic_instance


def small(n: int = 40, k: int = 1, seed: int = 7) -> Instance:
    """A synthetic instance small enough for HiGHS to prove every point in milliseconds."""
    return synthetic_instance(n, 5, k, seed=seed, budget_fraction=0.3)


def with_scenarios(inst: Instance, probabilities: list[float]) -> Instance:
    base = inst.budgets[0].limit
    return inst.replace(scenarios=tuple(
        Scenario(p, {inst.budgets[0].name: base * (0.6 + 0.2 * i)})
        for i, p in enumerate(probabilities)
    ))
