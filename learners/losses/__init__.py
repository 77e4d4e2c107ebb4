"""Training losses, one per module, each an ``nn.Module`` whose docstring gives its formula.

Every loss is called as ``loss(value_pred, cost_pred, batch)``: predictions (B, M) of every
arm's outcome and cost in the data's units (``cost_pred`` None where costs are fixed per arm:
then pass ``fixed_costs=(M,)`` to the constructor) and a batch of
:class:`learners.tensors.ExperimentTensors` (from the project's data, or
:func:`learners.tensors.rct_batch` from plain tensors). So a user's own torch model can use them
in its own training loop, as PyEPO users do with its losses:

>>> import torch
>>> from learners.losses import PIFDLoss, rct_batch
>>> arm = torch.tensor([0, 1, 1, 0]); outcome = torch.tensor([1.0, 3.0, 0.5, 2.0])
>>> cost = torch.tensor([0.0, 1.0, 1.0, 0.0]); p = torch.full((4,), 0.5)
>>> batch = rct_batch(arm, outcome, cost, p)
>>> value_pred = torch.tensor([[1.0, 2.0], [1.0, 1.5], [0.5, 2.0], [2.0, 2.2]],
...                           requires_grad=True)
>>> cost_pred = torch.tensor([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
>>> loss = PIFDLoss(budget_per_capita=0.5)(value_pred, cost_pred, batch)
>>> loss.backward()
>>> value_pred.grad.shape
torch.Size([4, 2])

* :class:`PredictionLoss`: the unbiased RCT prediction loss (DFCL eq. 3).
* :class:`DecisionLoss`: the RCT estimator of the decision loss L_DL (a metric).
* Dual, over a set of multipliers (DFCL): :class:`PLLoss`, :class:`MERLoss`, :class:`IFDLoss`.
* Primal, at the λ* of a budget (Bi-DFCL on RCT data): :class:`PPLLoss`, :class:`PIFDLoss`.
* :class:`DHCLLoss`: the decision factor (marginal ROI) learned directly (reconstructed).
* :class:`CombinedLoss`: a decision loss + α x the prediction loss.

λ* and the per-unit argmax come from the engine through :mod:`learners.oracle` only.
"""

from learners.losses.combined import CombinedLoss
from learners.losses.decision import DecisionLoss
from learners.losses.dhcl import DHCLLoss, decreasing_factors, dhcl_choice, dhcl_values
from learners.losses.ifd import IFDLoss
from learners.losses.mer import MERLoss
from learners.losses.pifd import PIFDLoss
from learners.losses.pll import PLLoss
from learners.losses.ppl import PPLLoss
from learners.losses.prediction import PredictionLoss
from learners.oracle import LambdaCache
from learners.tensors import rct_batch

__all__ = [
    "CombinedLoss",
    "DHCLLoss",
    "DecisionLoss",
    "IFDLoss",
    "LambdaCache",
    "MERLoss",
    "PIFDLoss",
    "PLLoss",
    "PPLLoss",
    "PredictionLoss",
    "decreasing_factors",
    "dhcl_choice",
    "dhcl_values",
    "rct_batch",
]
