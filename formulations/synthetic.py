"""Seeded synthetic marketing instances, the kind ``treatalloc generate`` writes.

Each user i has a heavy-tailed scale s_i ~ LogNormal(0, sigma) and a saturation rate r_i; option
j has a list price p_j (option 0 is the zero-cost control). Value has diminishing returns in
cost: v_ij = s_i * a_i * (1 - exp(-r_i * c_ij)) + small noise, clipped at 0 for the control.
Budget k's consumption is c^k_ij = p_j * u^k_i with u^k_i ~ LogNormal(0, 0.25), so budgets are
correlated but not identical. Limits are ``budget_fraction`` of the spend if everyone got the
most expensive option.
"""

from __future__ import annotations

import numpy as np

from formulations.errors import UsageError
from formulations.instance import Instance, Reference, from_dense


def synthetic_arrays(
    n_users: int,
    n_treatments: int = 5,
    n_budgets: int = 1,
    *,
    seed: int = 0,
    scale_sigma: float = 1.0,
    integral_costs: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """value (N, M) and costs (K, N, M), float64."""
    if n_users < 1 or n_treatments < 2 or n_budgets < 1:
        raise UsageError(
            f"generate: expected users >= 1, treatments >= 2 (a control and one treatment), "
            f"budgets >= 1; got {n_users}, {n_treatments}, {n_budgets}"
        )
    rng = np.random.default_rng(seed)
    prices = np.concatenate([[0.0], np.linspace(1.0, 3.0 * (n_treatments - 1), n_treatments - 1)])
    scale = rng.lognormal(0.0, scale_sigma, size=n_users)
    amp = rng.uniform(0.5, 1.5, size=n_users)
    rate = rng.lognormal(np.log(0.3), 0.5, size=n_users)
    mult = rng.lognormal(0.0, 0.25, size=(n_budgets, n_users))
    costs = mult[:, :, None] * prices[None, None, :]
    if integral_costs:
        costs = np.round(costs * 100.0)  # cents
        base = costs[0] / 100.0
    else:
        base = costs[0]
    value = scale[:, None] * amp[:, None] * (1.0 - np.exp(-rate[:, None] * base))
    value += rng.normal(0.0, 0.02, size=value.shape) * scale[:, None]
    value[:, 0] = 0.0
    return value, costs


def synthetic_instance(
    n_users: int,
    n_treatments: int = 5,
    n_budgets: int = 1,
    *,
    budget_fraction: float = 0.3,
    seed: int = 0,
    integral_costs: bool = False,
    choose: str = "exactly-one",
    name: str | None = None,
    reference: Reference | None = None,
) -> Instance:
    if not budget_fraction > 0:
        raise UsageError(f"budget_fraction: expected > 0, got {budget_fraction}")
    value, costs = synthetic_arrays(
        n_users, n_treatments, n_budgets, seed=seed, integral_costs=integral_costs
    )
    limits = budget_fraction * costs.max(axis=2).sum(axis=1)
    if integral_costs:
        limits = np.floor(limits)
    labels = ["control"] + [f"coupon_{j}" for j in range(1, n_treatments)]
    names = ["cash"] if n_budgets == 1 else [f"budget_{k}" for k in range(n_budgets)]
    inst = from_dense(
        value,
        costs,
        limits.tolist(),
        name=name or f"synthetic_{n_users}x{n_treatments}x{n_budgets}",
        budget_names=names,
        option_labels=labels,
        choose=choose,  # type: ignore[arg-type]
        reference=reference,
    )
    return inst.replace(
        description=f"synthetic: {n_users} users, {n_treatments} treatments incl. control, "
        f"{n_budgets} budget(s) at {budget_fraction:g} of max spend, seed {seed}"
        + (", integral costs (cents)" if integral_costs else "")
    )
