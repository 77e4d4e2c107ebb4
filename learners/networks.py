"""The torch networks of the two-stage learners: x -> (outcome[B, M], cost[B, M]).

* :class:`MultiHeadMLP` (TSM-SL, papers.md §1.8 and §4.3): one shared trunk of ReLU layers and
  one linear output layer with M outcome heads and M cost heads (2M outputs; the Criteo net of
  the papers is 64-32-32 with 4 outputs for M = 2). Every arm shares the representation; the
  arm selects the head, the multi-head form of an S-learner.
* :class:`ArmwiseMLP` (T-learner): M independent MLPs of the same shape, one per arm, each
  with an outcome and a cost output; evaluated together with batched matrix products. Each arm's
  net only ever sees the loss of its own arm's rows, so training them together is training M
  separate models (Adam's statistics are per parameter).

Both return ``cost`` None when every arm's cost is fixed (nothing to learn); arms with a fixed
cost (``fixed_costs``, NaN where learned: e.g. a control that costs nothing) output that cost,
so neither the engine nor a loss ever sees a learned cost where the cost is known; a learned
cost is never predicted below ``cost_floor`` (the smallest cost seen in training for that arm: a
cost below anything ever observed is not credible, and a negative one would make a coupon look
free); the floor applies in evaluation mode (predictions), not to the training loss.
Outputs are
in the data's units: the last layer's outputs are multiplied by fixed target scales (buffers,
the training standard deviations of outcome and cost), so the weights work at order 1 whatever
the currency while every loss and the engine see predictions in the data's units.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn


def default_hidden(n_inputs: int) -> tuple[int, ...]:
    """The papers' trunks (§1.8): 64-32-32 for a dozen features (CRITEO), 128-64-32 for
    hundreds (the Meituan data); the switch is at 32 encoded inputs."""
    return (64, 32, 32) if n_inputs <= 32 else (128, 64, 32)


class _Scaled(nn.Module):
    outcome_scale: torch.Tensor
    cost_scale: torch.Tensor
    fixed_cost: torch.Tensor
    cost_floor: torch.Tensor

    def __init__(self, n_arms: int, outcome_scale: float, cost_scale: float,
                 fixed_costs: Sequence[float] | None,
                 cost_floor: Sequence[float] | None) -> None:
        super().__init__()
        self.register_buffer("outcome_scale", torch.tensor(float(outcome_scale)))
        self.register_buffer("cost_scale", torch.tensor(float(cost_scale)))
        fixed = torch.full((n_arms,), float("nan")) if fixed_costs is None else \
            torch.tensor([float(x) for x in fixed_costs])
        self.register_buffer("fixed_cost", fixed)
        floor = torch.full((n_arms,), -float("inf")) if cost_floor is None else \
            torch.tensor([float(x) for x in cost_floor])
        self.register_buffer("cost_floor", floor)

    def _cost(self, raw: torch.Tensor) -> torch.Tensor:
        learned = raw * self.cost_scale
        if not self.training:
            # only at prediction: a clamp in training has no gradient below the floor, and a
            # head whose outputs all sink below it would never recover
            learned = torch.maximum(learned, self.cost_floor)
        return torch.where(torch.isnan(self.fixed_cost), learned, self.fixed_cost)


def relu_trunk(n_inputs: int, hidden: Sequence[int]) -> tuple[nn.Sequential, int]:
    """Linear + ReLU layers of the given widths, and the width of the last one."""
    layers: list[nn.Module] = []
    width = n_inputs
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    return nn.Sequential(*layers), width


class MultiHeadMLP(_Scaled):
    def __init__(self, n_inputs: int, n_arms: int, hidden: Sequence[int],
                 predict_cost: bool = True, outcome_scale: float = 1.0,
                 cost_scale: float = 1.0, fixed_costs: Sequence[float] | None = None,
                 cost_floor: Sequence[float] | None = None) -> None:
        super().__init__(n_arms, outcome_scale, cost_scale, fixed_costs, cost_floor)
        self.trunk, width = relu_trunk(n_inputs, hidden)
        self.n_arms = n_arms
        self.predict_cost = predict_cost
        self.head = nn.Linear(width, n_arms * (2 if predict_cost else 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = self.head(self.trunk(x))
        if not self.predict_cost:
            return out * self.outcome_scale, None
        return out[:, : self.n_arms] * self.outcome_scale, self._cost(out[:, self.n_arms:])


class ArmwiseMLP(_Scaled):
    def __init__(self, n_inputs: int, n_arms: int, hidden: Sequence[int],
                 predict_cost: bool = True, outcome_scale: float = 1.0,
                 cost_scale: float = 1.0, fixed_costs: Sequence[float] | None = None,
                 cost_floor: Sequence[float] | None = None) -> None:
        super().__init__(n_arms, outcome_scale, cost_scale, fixed_costs, cost_floor)
        self.n_arms = n_arms
        self.predict_cost = predict_cost
        sizes = [n_inputs, *hidden, 2 if predict_cost else 1]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for a, b in itertools.pairwise(sizes):
            bound = 1.0 / math.sqrt(a)  # the bound of torch.nn.Linear's default initialisation
            self.weights.append(nn.Parameter(torch.empty(n_arms, a, b).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(n_arms, 1, b).uniform_(-bound, bound)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = x.unsqueeze(0).expand(self.n_arms, *x.shape)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = torch.relu(h)
        # h: (M, B, outputs)
        value = h[:, :, 0].T * self.outcome_scale
        return value, (self._cost(h[:, :, 1].T) if self.predict_cost else None)


NETWORKS: dict[str, type[nn.Module]] = {"tsm-sl": MultiHeadMLP, "t-learner": ArmwiseMLP}
