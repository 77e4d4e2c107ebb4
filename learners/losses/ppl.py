"""Bi-DFCL's primal policy learning loss PPL at the actual budget (papers.md §1.4, eqs. 15-16;
Zhang et al., NeurIPS 2025; here trained on RCT data alone, without the bi-level part).

    z'_ij = softmax_j((r̂_ij - λ* ĉ_ij) / τ)
    L_PPL = -(1/B) Σ_i (1 / p_{t_i}) z'_{i,t_i} r_i

λ* is the multiplier of the given per-capita budget (papers.md §0.3), found by the oracle
(:mod:`learners.oracle`) on the detached predictions of each mini-batch (default: the IPW
realised-cost spend, as the paper trains), or fixed, or held by a
:class:`~learners.oracle.LambdaCache` that the training loop refreshes (e.g. once per epoch on
the whole train split). Gradients do not flow through λ*. The tempered softmax is the solution of
max Σ_j (r̂_ij - λ* ĉ_ij) z_ij - τ Σ_j z_ij ln z_ij s.t. Σ_j z_ij = 1 (App. A.3). Unlike DFCL's
dual losses the reward is r only (not r - λc) and λ* is that of the real budget. The paper does
not report τ; the default is 1 (τ is in the data's outcome units).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from learners.losses.inputs import ArmCosts, LambdaSource, check_tau, rct_columns
from learners.oracle import LambdaCache, Spend
from learners.tensors import ExperimentTensors


class PPLLoss(nn.Module):
    """-mean_i softmax((r̂ - λ* ĉ)/τ)[t_i] r_i / p_{t_i} at λ* of a per-capita budget.

    Parameters
    ----------
    budget_per_capita, lam, cache:
        exactly one: the per-capita incremental budget (λ* on each batch), a fixed λ, or a
        :class:`~learners.oracle.LambdaCache`.
    spend:
        how the oracle measures spend for λ*: ``"ipw"`` (default) or ``"predicted"``.
    tau:
        temperature > 0.
    fixed_costs:
        (M,) per-arm costs used when ``cost_pred`` is None.
    """

    def __init__(
        self, budget_per_capita: float | None = None, *, lam: float | None = None,
        cache: LambdaCache | None = None, spend: Spend = "ipw", tau: float = 1.0,
        fixed_costs: Any = None,
    ) -> None:
        super().__init__()
        self.source = LambdaSource(budget_per_capita, lam, cache, spend)
        self.tau = check_tau(tau)
        self.arm_costs = ArmCosts(fixed_costs)

    def forward(
        self, value_pred: torch.Tensor, cost_pred: torch.Tensor | None, batch: ExperimentTensors
    ) -> torch.Tensor:
        cost = self.arm_costs(value_pred, cost_pred)
        arm, y, _, w = rct_columns(batch, value_pred, "PPLLoss")
        lam = self.source(value_pred, cost, batch)
        z = torch.softmax((value_pred - lam * cost) / self.tau, dim=1).gather(1, arm).squeeze(1)
        return -(w * z * y).mean()
