"""PLL, MER and PPL: their formulas against a direct numpy evaluation, gradcheck in float64,
the low-temperature limit (the unrelaxed decision losses), fixed costs and the combined loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from learners.losses import (
    CombinedLoss,
    DecisionLoss,
    IFDLoss,
    LambdaCache,
    MERLoss,
    PLLoss,
    PPLLoss,
    PredictionLoss,
)
from tests.learners.losses.tiny import Tiny, tiny


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def mer_reference(p: Tiny, lambdas: list[float], tau: float) -> float:
    rows = np.arange(p.arm.size)
    total = 0.0
    for lam in lambdas:
        z = softmax((p.value - lam * p.cost) / tau)[rows, p.arm]
        total -= float(np.mean((p.outcome - lam * p.realised) * z / p.propensity))
    return total


def ppl_reference(p: Tiny, lam: float, tau: float) -> float:
    z = softmax((p.value - lam * p.cost) / tau)[np.arange(p.arm.size), p.arm]
    return -float(np.mean(z * p.outcome / p.propensity))


@pytest.mark.parametrize("tau", [0.5, 1.0, 3.0])
def test_mer_and_pll_formulas(tau: float) -> None:
    p = tiny(40, 4, 1)
    v, c = p.tensors(grad=False)
    lambdas = [0.0, 0.3, 1.1]
    got = float(MERLoss(lambdas, tau)(v, c, p.batch))
    assert got == pytest.approx(mer_reference(p, lambdas, tau), rel=1e-12)
    if tau == 1.0:
        assert float(PLLoss(lambdas)(v, c, p.batch)) == pytest.approx(got, rel=1e-15)
    # the weights 1/p are the paper's: dropping them (the demo) gives another number
    unweighted = Tiny(p.value, p.cost, p.arm, p.outcome, p.realised, np.ones_like(p.propensity))
    assert abs(mer_reference(unweighted, lambdas, tau) - got) > 0.1 * abs(got)


def test_ppl_formula_at_a_given_lambda_and_at_the_budget() -> None:
    p = tiny(50, 3, 2)
    v, c = p.tensors(grad=False)
    assert float(PPLLoss(lam=0.4, tau=0.7)(v, c, p.batch)) == pytest.approx(
        ppl_reference(p, 0.4, 0.7), rel=1e-12)
    loss = PPLLoss(budget_per_capita=0.05)
    value = float(loss(v, c, p.batch))
    lam = loss.source.last
    assert lam is not None and lam > 0
    assert value == pytest.approx(ppl_reference(p, lam, 1.0), rel=1e-12)


def test_low_temperature_limits_are_the_unrelaxed_losses() -> None:
    p = tiny(60, 4, 3)
    v, c = p.tensors(grad=False)
    lambdas = [0.2, 0.8]
    mer = float(MERLoss(lambdas, tau=1e-6)(v, c, p.batch))
    ifd = float(IFDLoss(lambdas)(v, c, p.batch))  # its value is -Σ_λ DDL(λ)
    assert mer == pytest.approx(ifd, rel=1e-9)
    ppl = float(PPLLoss(lam=0.5, tau=1e-6)(v, c, p.batch))
    assert ppl == pytest.approx(float(DecisionLoss(lam=0.5)(v, c, p.batch)), rel=1e-9)


def cached(spend: str, tau: float) -> PPLLoss:
    """PPL at the λ* of the gradcheck's own inputs, held fixed (gradients never flow through
    λ*: it is piecewise an efficiency of one unit, so a numerical Jacobian would see it move)."""
    p = tiny(7, 3, 4)
    cache = LambdaCache(0.05, spend=spend)  # type: ignore[arg-type]
    cache.refresh_batch(p.value, p.cost, p.batch)
    assert cache.lam is not None and cache.lam > 0
    return PPLLoss(cache=cache, tau=tau)


@pytest.mark.parametrize("make", [
    lambda: PLLoss([0.0, 0.5]),
    lambda: MERLoss([0.1, 0.7, 2.0], tau=0.4),
    lambda: PPLLoss(lam=0.6, tau=0.5),
    lambda: cached("predicted", 2.0),
    lambda: cached("ipw", 0.5),
], ids=["pll", "mer", "ppl-lam", "ppl-predicted", "ppl-ipw"])
def test_softmax_losses_pass_gradcheck(make: object) -> None:
    p = tiny(7, 3, 4)
    v, c = p.tensors()
    loss = make()  # type: ignore[operator]
    batch = p.batch
    assert torch.autograd.gradcheck(lambda a, b: loss(a, b, batch), (v, c), eps=1e-6,
                                    atol=1e-8)


def test_fixed_costs_stand_in_for_cost_predictions() -> None:
    p = tiny(30, 3, 5)
    arm_costs = torch.tensor([0.0, 0.5, 1.5], dtype=torch.float64)
    v, _ = p.tensors(grad=False)
    c = arm_costs.expand(30, 3)
    for with_pred, without in [
        (MERLoss([0.3], tau=0.5), MERLoss([0.3], tau=0.5, fixed_costs=arm_costs)),
        (PPLLoss(budget_per_capita=0.05),
         PPLLoss(budget_per_capita=0.05, fixed_costs=arm_costs)),
    ]:
        assert float(with_pred(v, c, p.batch)) == float(without(v, None, p.batch))


def test_combined_loss_adds_alpha_times_the_prediction_loss() -> None:
    p = tiny(30, 3, 6)
    v, c = p.tensors(grad=False)
    dec = PLLoss([0.3])
    pl = PredictionLoss(outcome_scale=2.0)
    for alpha in (0.0, 0.5, 3.0):
        got = float(CombinedLoss(dec, pl_weight=alpha, prediction=pl)(v, c, p.batch))
        want = float(dec(v, c, p.batch)) + alpha * float(pl(v, c, p.batch))
        assert got == pytest.approx(want, rel=1e-6)
    assert float(CombinedLoss(dec, 1.0)(v, c, p.batch)) == pytest.approx(
        float(dec(v, c, p.batch)) + float(PredictionLoss()(v, c, p.batch)), rel=1e-6)
