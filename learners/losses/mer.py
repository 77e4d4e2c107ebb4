"""DFCL's maximum-entropy regularised loss MER (papers.md §4.2; Zhou et al., KDD 2024).

    L_MER = - Σ_{λ ∈ Λ} (1/B) Σ_i (1 / p_{t_i}) (r_i - λ c_i) z^λ_{i,t_i}
    z^λ_i = softmax_j((r̂_ij - λ ĉ_ij) / τ)

The dual decision loss L_DDL(λ) = -Σ_i (r_i - λ c_i) 1[t_i = argmax_j (r̂_ij - λ ĉ_ij)] / p_{t_i}
(the constant λB dropped) with the argmax relaxed to the policy that maximises
Σ_j (r̂_ij - λ ĉ_ij) z_ij - τ Σ_j z_ij ln z_ij (the tempered softmax), summed over a set Λ of
multipliers: small λ stand for large budgets, large λ for tight ones (DFCL integrates the
decision loss over budgets through the monotone λ*(B)). PLL is MER at τ = 1
(:class:`learners.losses.pll.PLLoss`).

The RCT weight 1/p_{t_i} = N / N_{t_i} is the paper's; the authors' demo notebook drops it (with
85% of Criteo treated that changes the loss): this implements the paper. r_i and c_i are the
batch's observed outcome and realised cost, r̂ and ĉ the predictions, all in the data's units, so
λ and τ are in those units too (λ: outcome per unit of cost; τ: outcome).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from learners.losses.inputs import ArmCosts, check_lambdas, check_tau, rct_columns
from learners.tensors import ExperimentTensors


class MERLoss(nn.Module):
    """-Σ_λ mean_i (r_i - λ c_i) softmax((r̂ - λ ĉ)/τ)[t_i] / p_{t_i}.

    Parameters
    ----------
    lambdas:
        the set Λ (non-empty, each >= 0); DFCL studies {0.1}, {0.1, 0.5}, {0.1, 0.5, 1.0} on
        its data's units.
    tau:
        temperature > 0 (DFCL: 3 on Criteo, 0.01 on its marketing data; the demo uses 5).
    fixed_costs:
        (M,) per-arm costs used when ``cost_pred`` is None.
    """

    def __init__(self, lambdas: Any, tau: float = 1.0, *, fixed_costs: Any = None) -> None:
        super().__init__()
        self.lambdas = check_lambdas(lambdas)
        self.tau = check_tau(tau)
        self.arm_costs = ArmCosts(fixed_costs)

    def forward(
        self, value_pred: torch.Tensor, cost_pred: torch.Tensor | None, batch: ExperimentTensors
    ) -> torch.Tensor:
        cost = self.arm_costs(value_pred, cost_pred)
        arm, y, c, w = rct_columns(batch, value_pred, type(self).__name__)
        total = value_pred.new_zeros(())
        for lam in self.lambdas:
            z = torch.softmax((value_pred - lam * cost) / self.tau, dim=1).gather(1, arm)
            total = total - (w * (y - lam * c) * z.squeeze(1)).mean()
        return total
