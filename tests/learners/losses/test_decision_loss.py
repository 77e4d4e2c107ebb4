"""The RCT decision-loss estimator: unbiased for the true value of the same policy on the
simulator (known potential outcomes), and the negated EOM of eom_at_budget on the same data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evaluation.policy import eom_at_budget
from formulations.errors import UsageError
from learners.losses import DecisionLoss, rct_batch
from learners.oracle import LambdaCache, lagrangian_argmax, lambda_star
from learners.simulate import simulate

SEEDS = range(40)


def noisy_predictions(truth_value: np.ndarray, truth_cost: np.ndarray, seed: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Imperfect predictions, drawn independently of the randomisation."""
    rng = np.random.default_rng(10_000 + seed)
    return (truth_value * np.exp(rng.normal(0, 0.3, truth_value.shape)),
            truth_cost * np.exp(rng.normal(0, 0.3, truth_cost.shape)))


@pytest.mark.parametrize("policy", [{"lam": 0.25},
                                    {"budget_per_capita": 0.6, "spend": "predicted"}])
def test_decision_loss_is_unbiased_for_the_policy_true_value(policy: dict) -> None:
    errors, naive = [], []
    for seed in SEEDS:
        sim = simulate("scarce", n_users=8_000, n_obs=0, seed=seed)
        data, truth = sim.data["test"], sim.truth["test"]
        vp, cp = noisy_predictions(truth.value, truth.cost, seed)
        batch = rct_batch(data.arm, data.outcome, data.cost, data.propensity)
        loss = DecisionLoss(**policy)
        estimate = -float(loss(torch.tensor(vp), torch.tensor(cp), batch))
        lam = loss.source.last
        assert lam is not None and lam > 0
        chosen = lagrangian_argmax(vp, cp, lam)
        assert 0.2 < np.mean(chosen > 0) < 0.95  # a policy that is neither extreme
        true = float(truth.value[np.arange(truth.n_units), chosen].mean())
        errors.append(estimate - true)
        hit = chosen == data.arm
        naive.append(float(np.mean(hit * data.outcome)) - true)  # without the 1/p weights
    e = np.asarray(errors)
    se = e.std(ddof=1) / np.sqrt(e.size)
    assert abs(e.mean()) < 3 * se, (e.mean(), se)
    # the check has power: the unweighted estimate (the demo's form) is far off
    n = np.asarray(naive)
    assert abs(n.mean()) > 10 * n.std(ddof=1) / np.sqrt(n.size)


def test_decision_loss_is_minus_eom_at_budget_with_the_ipw_spend() -> None:
    sim = simulate("plentiful", n_users=6_000, n_obs=0, seed=3)
    data, truth = sim.data["validation"], sim.truth["validation"]
    vp, cp = noisy_predictions(truth.value, truth.cost, 3)
    batch = rct_batch(data.arm, data.outcome, data.cost, data.propensity)
    for budget in (0.3, 1.0, 2.0):
        loss = DecisionLoss(budget)
        got = float(loss(torch.tensor(vp), torch.tensor(cp), batch))
        lam, pv = eom_at_budget(data.arm, batch.outcome.numpy(), batch.cost.numpy(), vp, cp,
                                budget, propensity=batch.propensity.numpy())
        assert loss.source.last == lam
        assert got == pytest.approx(-pv.value, rel=1e-6)


def test_decision_loss_uses_the_cache_and_refuses_observational_batches() -> None:
    sim = simulate("plentiful", n_users=3_000, n_obs=0, seed=4)
    data, truth = sim.data["train"], sim.truth["train"]
    vp, cp = noisy_predictions(truth.value, truth.cost, 4)
    batch = rct_batch(data.arm, data.outcome, data.cost, data.propensity)
    cache = LambdaCache(0.5, spend="predicted")
    loss = DecisionLoss(cache=cache)
    with pytest.raises(UsageError, match=r"refresh"):
        loss(torch.tensor(vp), torch.tensor(cp), batch)
    cache.refresh(vp, cp)
    loss(torch.tensor(vp), torch.tensor(cp), batch)
    assert loss.source.last == lambda_star(vp, cp, 0.5, spend="predicted")
    # an observational batch (its propensity is only the arm's share): IPW is refused
    obs = type(batch)(**{**batch.__dict__, "randomised": False})
    with pytest.raises(UsageError, match=r"randomised"):
        DecisionLoss(lam=0.1)(torch.tensor(vp), torch.tensor(cp), obs)
