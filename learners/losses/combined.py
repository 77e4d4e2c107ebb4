"""A decision loss plus α times the prediction loss (papers.md §1.2, §4.2; DFCL's
L_DFCL = L_DL + α L_PL, the papers' α, ``--pl-weight``).

α trades prediction accuracy against decision quality: DFCL studies α in {0.1, 0.5, 1, 2, 3, 4,
5, 10}; too large and the model reverts to the two-stage method. The two terms are in their own
units (the decision losses in the data's outcome units per capita, the prediction loss in those
of its scales), so α depends on the data's units too.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from formulations.errors import UsageError
from learners.losses.prediction import PredictionLoss
from learners.oracle import is_number
from learners.tensors import ExperimentTensors


class CombinedLoss(nn.Module):
    """``decision(v, c, batch) + pl_weight * prediction(v, c, batch)``.

    ``prediction`` defaults to the unscaled :class:`PredictionLoss`; with ``pl_weight`` 0 it is
    not evaluated. Both terms are called with the same (value_pred, cost_pred, batch).
    """

    def __init__(
        self, decision: nn.Module, pl_weight: float = 0.0, prediction: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if not is_number(pl_weight) or not (math.isfinite(pl_weight) and pl_weight >= 0):
            raise UsageError(f"pl_weight: expected a finite weight >= 0 (the papers' alpha), got "
                             f"{pl_weight!r}")
        self.decision = decision
        self.prediction = prediction if prediction is not None else PredictionLoss()
        self.pl_weight = float(pl_weight)

    def forward(
        self, value_pred: torch.Tensor, cost_pred: torch.Tensor | None, batch: ExperimentTensors
    ) -> torch.Tensor:
        out: torch.Tensor = self.decision(value_pred, cost_pred, batch)
        if self.pl_weight:
            out = out + self.pl_weight * self.prediction(value_pred, cost_pred, batch)
        return out
