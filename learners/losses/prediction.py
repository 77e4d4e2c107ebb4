"""The unbiased RCT prediction loss (DFCL, papers.md §4.2, eq. 3; Theorem 1).

    L_PL = (1/M) sum_i (1/N_{t_i}) [ (r_i - r̂_{i,t_i})^2 + (c_i - ĉ_{i,t_i})^2 ]

Only the received arm's prediction has a label. Weighting each unit by 1/N_{t_i} makes every
arm count equally, so under randomisation L_PL estimates the mean over arms of the full-surface
mean squared error (Zhou et al., KDD 2024, Theorem 1). Per unit the weight is
N / (M N_{t_i}) = 1 / (M p_{t_i}) (``batch.weight``), so the mini-batch mean below is an unbiased
estimate of L_PL / N and its gradient the same up to that constant.

``outcome_scale`` and ``cost_scale`` divide the two errors (default 1: the paper's loss). The
project's learners pass the training standard deviations, so neither term dominates because of
its currency; that reweights the two terms relative to the paper's unscaled sum and is the one
deviation. Where the data has fixed per-arm costs ``cost_pred`` is None and only the outcome term
remains. Predictions and batch are in the data's units.
"""

from __future__ import annotations

import torch
from torch import nn

from learners.tensors import ExperimentTensors


class PredictionLoss(nn.Module):
    def __init__(self, outcome_scale: float = 1.0, cost_scale: float = 1.0) -> None:
        super().__init__()
        if not (outcome_scale > 0 and cost_scale > 0):
            raise ValueError(f"scales: expected > 0, got {outcome_scale}, {cost_scale}")
        self.inv_outcome = 1.0 / float(outcome_scale)
        self.inv_cost = 1.0 / float(cost_scale)

    def forward(
        self, value_pred: torch.Tensor, cost_pred: torch.Tensor | None, batch: ExperimentTensors
    ) -> torch.Tensor:
        arm = batch.arm.unsqueeze(1)
        err = ((value_pred.gather(1, arm).squeeze(1) - batch.outcome) * self.inv_outcome).square()
        if cost_pred is not None:
            err = err + ((cost_pred.gather(1, arm).squeeze(1) - batch.cost)
                         * self.inv_cost).square()
        return (batch.weight * err).mean()
