"""Bad input to the losses: a clear UsageError naming the parameter; a non-binding budget warns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from formulations.errors import UsageError
from learners.losses import (
    CombinedLoss,
    DecisionLoss,
    IFDLoss,
    MERLoss,
    PIFDLoss,
    PLLoss,
    PPLLoss,
    rct_batch,
)
from learners.provider import BudgetWarning
from tests.learners.losses.tiny import tiny


@pytest.mark.parametrize(("make", "match"), [
    (lambda: MERLoss([0.1], tau=0.0), "tau.*> 0"),
    (lambda: MERLoss([0.1], tau=-1.0), "tau.*> 0"),
    (lambda: PPLLoss(lam=0.1, tau=0), "tau.*> 0"),
    (lambda: PIFDLoss(lam=0.1, tau=float("inf")), "tau"),
    (lambda: PLLoss([]), "lambdas.*empty"),
    (lambda: MERLoss((), tau=1.0), "lambdas.*empty"),
    (lambda: IFDLoss([]), "lambdas.*empty"),
    (lambda: IFDLoss([0.1, -0.2]), "lambdas.*>= 0"),
    (lambda: PLLoss([float("nan")]), "lambdas"),
    (lambda: PLLoss(None), "lambdas"),
    (lambda: PPLLoss(budget_per_capita=-0.5), "budget_per_capita.*>= 0"),
    (lambda: PIFDLoss(budget_per_capita=-1), "budget_per_capita.*>= 0"),
    (lambda: DecisionLoss(-0.1), "budget_per_capita.*>= 0"),
    (lambda: PPLLoss(), "exactly one of budget_per_capita"),
    (lambda: PPLLoss(0.5, lam=0.1), "exactly one of budget_per_capita"),
    (lambda: PPLLoss(0.5, spend="true"), "spend"),  # type: ignore[arg-type]
    (lambda: PPLLoss(lam=-1.0), "lam.*>= 0"),
    (lambda: PPLLoss(cache=0.3), "cache"),  # type: ignore[arg-type]
    (lambda: IFDLoss([0.1], clip="max"), "clip"),
    (lambda: IFDLoss([0.1], h=0.0), "h.*> 0"),
    (lambda: IFDLoss([0.1], form="hajek"), "form"),
    (lambda: IFDLoss([0.1], eps=0.0), "eps"),
    (lambda: PIFDLoss(lam=0.1, min_margin=0), "min_margin"),
    (lambda: CombinedLoss(PLLoss([0.1]), pl_weight=-1.0), "pl_weight"),
    (lambda: CombinedLoss(PLLoss([0.1]), pl_weight=float("nan")), "pl_weight"),
    (lambda: MERLoss([0.1], fixed_costs=[1.0]), "fixed_costs"),
])
def test_constructor_errors_name_the_parameter(make: object, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        make()  # type: ignore[operator]


def test_call_errors() -> None:
    p = tiny(10, 3, 0)
    v, c = p.tensors(grad=False)
    with pytest.raises(UsageError, match=r"fixed_costs"):
        PLLoss([0.1])(v, None, p.batch)
    with pytest.raises(UsageError, match=r"cost_pred.*shape"):
        PLLoss([0.1])(v, c[:, :2], p.batch)
    with pytest.raises(UsageError, match=r"fixed_costs: 2 arms"):
        PLLoss([0.1], fixed_costs=[0.0, 1.0])(v, None, p.batch)
    with pytest.raises(UsageError, match=r"10 units.*5 rows"):
        PLLoss([0.1])(v[:5], c[:5], p.batch)


def test_budget_above_all_max_spend_warns_through_the_loss() -> None:
    p = tiny(20, 3, 1)
    v, c = p.tensors(grad=False)
    for spend in ("ipw", "predicted"):
        loss = PPLLoss(budget_per_capita=1e3, spend=spend)  # type: ignore[arg-type]
        with pytest.warns(BudgetWarning, match=r"top arm"):
            loss(v, c, p.batch)
        assert loss.source.last == 0.0


@pytest.mark.parametrize(("args", "match"), [
    ((np.array([0, 1]), [1.0], [0.0, 0.0], [0.5, 0.5]), "outcome: expected 2"),
    ((np.array([0, 1]), [1.0, 2.0], [0.0, 0.0], [0.5, 0.0]), r"propensity.*\(0, 1\]"),
    ((np.array([0, 0]), [1.0, 2.0], [0.0, 0.0], [0.5, 0.5]), "arm.*at least 2 arms"),
    ((np.array([], dtype=np.int64), [], [], []), "arm.*empty"),
    ((np.array([[0, 1]]), [1.0], [0.0], [0.5]), "arm.*1-D"),
    ((np.array([0, 1]), [1.0, float("nan")], [0.0, 0.0], [0.5, 0.5]), "outcome.*finite"),
])
def test_rct_batch_bad_input(args: tuple, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        rct_batch(*args)


def test_rct_batch_from_tensors_and_arrays_agree() -> None:
    a = rct_batch([0, 1, 2], [1.0, 2.0, 3.0], [0.0, 1.0, 2.0], [0.5, 0.25, 0.25])
    b = rct_batch(torch.tensor([0, 1, 2]), torch.tensor([1.0, 2.0, 3.0]),
                  torch.tensor([0.0, 1.0, 2.0]), torch.tensor([0.5, 0.25, 0.25]), n_arms=3)
    for name in ("arm", "outcome", "cost", "propensity", "weight"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name))
    torch.testing.assert_close(a.weight, torch.tensor([2 / 3, 4 / 3, 4 / 3]))
    assert a.randomised and a.n_arms == 3
