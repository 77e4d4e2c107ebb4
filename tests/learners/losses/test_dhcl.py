"""DHCL: the loss's minimiser is the marginal ROI on a randomised experiment, and the provider
pieces (values from θ and incremental costs) make the Lagrangian allocation the comparison
rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from formulations.errors import UsageError
from learners.losses import DHCLLoss, decreasing_factors, dhcl_choice, dhcl_values, rct_batch
from learners.oracle import lagrangian_argmax, lambda_star

ARM_COSTS = np.array([0.0, 1.0, 3.0])
SHARES = np.array([0.5, 0.3, 0.2])
# expected outcome of 4 groups under the 3 arms (concave in cost)
MEANS = np.array([[1.0, 1.6, 2.2], [2.0, 2.3, 2.5], [0.5, 1.5, 2.9], [1.0, 1.1, 1.15]])


def experiment(n: int, seed: int, random_cost: bool) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 4, n)
    t = rng.choice(3, size=n, p=SHARES)
    y = MEANS[g, t] + rng.normal(0, 0.5, n)
    c = ARM_COSTS[t] * (rng.uniform(0.5, 1.5, n) if random_cost else 1.0)
    return g, t, y, c


def fit_theta(loss: DHCLLoss, g: np.ndarray, batch: object, cost_pred: torch.Tensor | None
              ) -> np.ndarray:
    """The minimiser over one θ per group. The loss is a separable quadratic in the (group,
    pair) entries, so two gradients give it exactly: θ* = -∇(0) / (∇(1) - ∇(0))."""
    gi = torch.from_numpy(g)

    def grad(at: float) -> torch.Tensor:
        theta = torch.full((4, 2), at, dtype=torch.float64, requires_grad=True)
        loss(theta[gi], cost_pred, batch).backward()  # type: ignore[arg-type]
        assert theta.grad is not None
        return theta.grad

    g0, g1 = grad(0.0), grad(1.0)
    assert bool((g1 - g0 > 0).all())  # convex in every entry on this sample
    return (-g0 / (g1 - g0)).numpy()


def test_model_cost_term_minimiser_is_the_marginal_roi() -> None:
    g, t, y, c = experiment(80_000, 0, random_cost=False)
    batch = rct_batch(t, y, c, SHARES[t])
    theta = fit_theta(DHCLLoss(fixed_costs=ARM_COSTS), g, batch, None)
    true = np.diff(MEANS, axis=1) / np.diff(ARM_COSTS)
    # standard errors of the per-group IPW uplift estimates
    omega = np.stack([(t == j) / SHARES[t] - (t == j - 1) / SHARES[t] for j in (1, 2)], axis=1)
    se = np.array([[np.std(omega[g == k, j] * y[g == k]) / np.sqrt((g == k).sum())
                    for j in range(2)] for k in range(4)]) / np.diff(ARM_COSTS)
    assert np.all(np.abs(theta - true) < 4 * se), (theta, true, se)
    # a network head with cost predictions gives the same minimiser (Δĉ detached)
    cp = torch.tensor(np.tile(ARM_COSTS, (g.size, 1)), requires_grad=True)
    theta2 = fit_theta(DHCLLoss(), g, batch, cp)
    np.testing.assert_allclose(theta2, theta, rtol=1e-6, atol=1e-8)
    assert cp.grad is None


def test_ipw_cost_term_minimiser_is_the_uplift_ratio() -> None:
    g, t, y, c = experiment(80_000, 1, random_cost=True)
    batch = rct_batch(t, y, c, SHARES[t])
    theta = fit_theta(DHCLLoss(cost_term="ipw", fixed_costs=ARM_COSTS), g, batch, None)
    true = np.diff(MEANS, axis=1) / np.diff(ARM_COSTS)
    assert np.all(np.abs(theta - true) < 0.25), (theta, true)
    # the quadratic term uses the realised costs: a different fit from the model term
    model = fit_theta(DHCLLoss(fixed_costs=ARM_COSTS), g, batch, None)
    assert not np.allclose(theta, model)


def test_dhcl_loss_passes_gradcheck() -> None:
    rng = np.random.default_rng(2)
    t = rng.choice(3, size=9, p=SHARES)
    batch = rct_batch(t, rng.uniform(0, 2, 9), ARM_COSTS[t], SHARES[t])
    theta = torch.tensor(rng.normal(size=(9, 2)), requires_grad=True)
    for loss in (DHCLLoss(fixed_costs=ARM_COSTS), DHCLLoss(cost_term="ipw",
                                                           fixed_costs=ARM_COSTS)):
        assert torch.autograd.gradcheck(lambda th, lo=loss: lo(th, None, batch), (theta,))


@pytest.mark.parametrize("m", [2, 3, 5])
def test_lagrangian_allocation_of_the_dhcl_instance_is_the_comparison_rule(m: int) -> None:
    rng = np.random.default_rng(m)
    n = 500
    theta = decreasing_factors(torch.tensor(rng.normal(1.0, 1.0, (n, m - 1)))).numpy()
    assert np.all(np.diff(theta, axis=1) <= 0)
    costs = np.concatenate([np.zeros((n, 1)), np.cumsum(rng.uniform(0.1, 2.0, (n, m - 1)),
                                                        axis=1)], axis=1)
    values = dhcl_values(theta, costs)
    assert np.all(values[:, 0] == 0)
    np.testing.assert_allclose(np.diff(values, axis=1) / np.diff(costs, axis=1), theta,
                               rtol=1e-9)
    for lam in (0.0, 0.3, 0.9, 1.7, 5.0):
        np.testing.assert_array_equal(lagrangian_argmax(values, costs, lam),
                                      dhcl_choice(theta, lam))
    # at the engine's λ* of a budget the rule spends within the budget
    lam = lambda_star(values, costs, 0.4, spend="predicted")
    chosen = dhcl_choice(theta, lam)
    assert costs[np.arange(n), chosen].mean() <= 0.4 + 1e-12
    np.testing.assert_array_equal(chosen, lagrangian_argmax(values, costs, lam))


def test_rule_needs_decreasing_factors() -> None:
    # θ rising in j (no diminishing returns): the hull merges the two increments and the
    # Lagrangian choice differs from the comparison rule
    theta = np.array([[0.5, 2.0]])
    costs = np.array([[0.0, 1.0, 2.0]])
    values = dhcl_values(theta, costs)
    assert dhcl_choice(theta, 1.5) == 2
    assert lagrangian_argmax(values, costs, 1.5)[0] == 0


def test_dhcl_bad_input() -> None:
    with pytest.raises(UsageError, match=r"fixed_costs.*increasing"):
        DHCLLoss(fixed_costs=[0.0, 1.0, 1.0])
    with pytest.raises(UsageError, match=r"cost_term"):
        DHCLLoss(cost_term="x")
    with pytest.raises(UsageError, match=r"min_cost_step"):
        DHCLLoss(min_cost_step=0.0)
    t = np.array([0, 1, 2])
    batch = rct_batch(t, [1.0, 2.0, 3.0], ARM_COSTS[t], SHARES[t])
    with pytest.raises(UsageError, match=r"theta.*2 columns"):
        DHCLLoss(fixed_costs=ARM_COSTS)(torch.zeros((3, 3)), None, batch)
    with pytest.raises(UsageError, match=r"theta/costs"):
        dhcl_values(np.zeros((3, 3)), np.zeros((3, 3)))
