"""Tiny randomised problems shared by the loss tests (a few units, 2-4 arms, float64)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from learners.tensors import ExperimentTensors, rct_batch


@dataclass(frozen=True)
class Tiny:
    value: np.ndarray
    cost: np.ndarray
    arm: np.ndarray
    outcome: np.ndarray
    realised: np.ndarray
    propensity: np.ndarray

    @property
    def batch(self) -> ExperimentTensors:
        return rct_batch(self.arm, self.outcome, self.realised, self.propensity,
                         n_arms=self.value.shape[1])

    def tensors(self, grad: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        v = torch.tensor(self.value, dtype=torch.float64, requires_grad=grad)
        c = torch.tensor(self.cost, dtype=torch.float64, requires_grad=grad)
        return v, c


def tiny(n: int, m: int, seed: int) -> Tiny:
    rng = np.random.default_rng(seed)
    value = rng.normal(0.0, 1.0, (n, m))
    cost = np.abs(rng.normal(1.0, 0.5, (n, m)))
    cost[:, 0] = 0.0
    shares = np.arange(1, m + 1) / np.arange(1, m + 1).sum()
    arm = rng.choice(m, size=n, p=shares)
    # dyadic numbers survive the batch's float32 storage exactly
    outcome = np.round(rng.uniform(0.25, 3.0, n) * 64) / 64
    realised = np.round(cost[np.arange(n), arm] * rng.uniform(0.5, 1.5, n) * 64) / 64
    return Tiny(value, cost, arm, outcome, realised, shares[arm].astype(np.float32)
                .astype(np.float64))
