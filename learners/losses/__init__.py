"""Training losses, one per module, each an ``nn.Module`` whose docstring gives its formula.

Every loss is called as ``loss(value_pred, cost_pred, batch)`` with predictions (B, M) and a
batch of :class:`learners.tensors.ExperimentTensors`, so a user's own torch model can use them in
its own training loop.
"""

from learners.losses.prediction import PredictionLoss

__all__ = ["PredictionLoss"]
