"""The unbiased RCT estimator of the decision loss L_DL (papers.md §0.4; Bi-DFCL eq. 11).

    L_DL = -(1/B) Σ_i (1 / p_{t_i}) 1[t_i = π(i)] r_i

π is the Lagrangian policy of the predictions (papers.md §0.2) at λ* of a per-capita budget
(searched on the batch by the oracle, :mod:`learners.oracle`), at a given λ, or at the λ* of a
:class:`~learners.oracle.LambdaCache`. Only the RCT units whose random arm is the arm the policy
chooses count, each for 1/p_{t_i} units like it; for a policy fixed independently of the batch's
outcomes (a given λ, or λ* from the predicted spend) the expectation over the randomisation is
minus the policy's per-capita value (Zhang et al., NeurIPS 2025, App. A.2). With λ* from the IPW
spend of the same batch, the policy depends on the batch's costs and the estimate is that of
:func:`evaluation.policy.eom_at_budget` (its value, negated), which is how the papers score.

This is a metric: the policy is piecewise constant in the predictions, so the loss has no useful
gradient. It is returned detached; the surrogate losses (PLL, MER, IFD, PPL, PIFD) are for
training.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from learners.losses.inputs import ArmCosts, LambdaSource, rct_columns
from learners.oracle import LambdaCache, Spend, lagrangian_argmax
from learners.tensors import ExperimentTensors


class DecisionLoss(nn.Module):
    """-(1/B) Σ_i 1[t_i = π(i)] r_i / p_{t_i}, π the Lagrangian policy at λ* (detached).

    Parameters
    ----------
    budget_per_capita, lam, cache:
        exactly one: a per-capita incremental budget (λ* searched on each batch with ``spend``),
        a fixed multiplier, or a :class:`~learners.oracle.LambdaCache`.
    spend:
        ``"ipw"`` (default, the papers') or ``"predicted"``; see :mod:`learners.oracle`.
    fixed_costs:
        (M,) per-arm costs used when ``cost_pred`` is None.
    """

    def __init__(
        self, budget_per_capita: float | None = None, *, lam: float | None = None,
        cache: LambdaCache | None = None, spend: Spend = "ipw", fixed_costs: Any = None,
    ) -> None:
        super().__init__()
        self.source = LambdaSource(budget_per_capita, lam, cache, spend)
        self.arm_costs = ArmCosts(fixed_costs)

    def forward(
        self, value_pred: torch.Tensor, cost_pred: torch.Tensor | None, batch: ExperimentTensors
    ) -> torch.Tensor:
        cost = self.arm_costs(value_pred, cost_pred)
        arm, y, _, w = rct_columns(batch, value_pred, "DecisionLoss")
        lam = self.source(value_pred, cost, batch)
        chosen = torch.from_numpy(lagrangian_argmax(value_pred, cost, lam)).to(arm.device)
        hit = (chosen == arm.squeeze(1)).to(y.dtype)
        return -(w * hit * y).mean().detach()
