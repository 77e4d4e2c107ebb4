"""The learner-facing view of experiment data: float32 torch tensors, built without row loops.

``ExperimentTensors`` holds what every training loss needs for N units: the encoded features,
the received arm, the observed outcome and cost, the propensity of the received arm and the
weight of the unbiased RCT prediction loss (papers.md §4.2):

    L_PL = (1/M) sum_i (1/N_{t_i}) [(r_i - r̂_{i,t_i})^2 + (c_i - ĉ_{i,t_i})^2]

written per unit as weight_i = N / (M N_{t_i}) = 1 / (M p_{t_i}) with p_t = N_t / N, so that a
mini-batch mean of ``weight * squared error`` is an unbiased estimate of L_PL / N (the average
over arms of each arm's mean squared error over the whole population under randomisation).
The losses of learners/losses/ take ``(value_pred, cost_pred, batch)`` with a batch from
:meth:`ExperimentTensors.take`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from formulations.experiment_data import ExperimentData

if TYPE_CHECKING:
    import torch

    from learners.features import FeatureSchema


@dataclass(frozen=True, eq=False)
class ExperimentTensors:
    """x (N, D), arm (N,) int64, outcome / cost / propensity / weight (N,) float32."""

    x: torch.Tensor
    arm: torch.Tensor
    outcome: torch.Tensor
    cost: torch.Tensor
    propensity: torch.Tensor
    """the propensity of the received arm (the design's for an RCT; for observational data the
    arm's share of the sample, which is NOT a propensity: IPW decision losses refuse it)"""
    weight: torch.Tensor
    n_arms: int
    randomised: bool

    @property
    def n_units(self) -> int:
        return int(self.arm.shape[0])

    def take(self, index: torch.Tensor) -> ExperimentTensors:
        """The rows at ``index`` (a mini-batch); arm counts stay those of the whole data."""
        return ExperimentTensors(
            x=self.x.index_select(0, index), arm=self.arm.index_select(0, index),
            outcome=self.outcome.index_select(0, index), cost=self.cost.index_select(0, index),
            propensity=self.propensity.index_select(0, index),
            weight=self.weight.index_select(0, index), n_arms=self.n_arms,
            randomised=self.randomised,
        )

    def to(self, device: str) -> ExperimentTensors:
        return ExperimentTensors(
            x=self.x.to(device), arm=self.arm.to(device), outcome=self.outcome.to(device),
            cost=self.cost.to(device), propensity=self.propensity.to(device),
            weight=self.weight.to(device), n_arms=self.n_arms, randomised=self.randomised,
        )


def arm_share(arm: np.ndarray, n_arms: int) -> np.ndarray:
    """(M,) p_t = N_t / N (arms absent from the data get share 0)."""
    return np.bincount(arm, minlength=n_arms) / max(arm.shape[0], 1)


def experiment_tensors(
    data: ExperimentData,
    schema: FeatureSchema,
    *,
    device: str = "cpu",
    columns: np.ndarray | None = None,
    weight_propensity: np.ndarray | None = None,
) -> ExperimentTensors:
    """Encode ``data`` with ``schema`` and move it to torch (float32, on ``device``); outcome
    and cost stay in the data's units. ``columns`` maps the data's arm codes to the model's
    output columns (learners.provider.arm_columns) where the two orders may differ.

    The prediction-loss weight is 1 / (M p_t) with p_t the arm's share (the RCT loss), or with
    ``weight_propensity`` (N,) 1 / (M p_i): inverse propensity weights for an observational log,
    where arm shares do not undo the confounding (learners/propensity.py estimates them)."""
    import torch

    share = arm_share(data.arm, data.n_arms)
    propensity = data.propensity if data.propensity is not None else share[data.arm]
    p_weight = share[data.arm] if weight_propensity is None else np.asarray(weight_propensity)
    weight = 1.0 / (data.n_arms * p_weight)
    arm = data.arm if columns is None else np.asarray(columns)[data.arm]
    x = torch.from_numpy(schema.encode(data))
    return ExperimentTensors(
        x=x,
        arm=torch.from_numpy(np.ascontiguousarray(arm, dtype=np.int64)),
        outcome=torch.from_numpy(data.outcome.astype(np.float32)),
        cost=torch.from_numpy(data.cost.astype(np.float32)),
        propensity=torch.from_numpy(np.asarray(propensity, dtype=np.float32)),
        weight=torch.from_numpy(weight.astype(np.float32)),
        n_arms=data.n_arms,
        randomised=data.kind == "rct",
    ).to(device)


def rct_batch(
    arm: object,
    outcome: object,
    cost: object,
    propensity: object,
    *,
    n_arms: int | None = None,
    x: object = None,
) -> ExperimentTensors:
    """A batch for the losses from plain arrays or tensors of one RCT (B rows each).

    ``arm`` (B,) the randomised arm index (0 = control), ``outcome`` and ``cost`` (B,) the
    observed outcome and realised cost in the data's units, ``propensity`` (B,) the design's
    P(received arm) in (0, 1]; ``n_arms`` defaults to ``arm.max() + 1``; ``x`` (B, D) is
    optional (the losses do not read it). The prediction-loss weight is 1 / (M p) as in
    :func:`experiment_tensors`.

    >>> import torch
    >>> batch = rct_batch(torch.tensor([0, 1, 1]), torch.tensor([1.0, 2.0, 0.0]),
    ...                   torch.tensor([0.0, 1.0, 0.0]), torch.tensor([0.5, 0.5, 0.5]))
    >>> batch.n_units, batch.n_arms
    (3, 2)
    """
    import torch

    from formulations.errors import UsageError

    def tensor(name: str, v: object, dtype: torch.dtype) -> torch.Tensor:
        t = v if isinstance(v, torch.Tensor) else torch.tensor(np.asarray(v))
        if t.ndim != 1:
            raise UsageError(f"{name}: expected a 1-D array (one entry per unit), got shape "
                             f"{tuple(t.shape)}")
        return t.to(dtype)

    a = tensor("arm", arm, torch.int64)
    b = a.shape[0]
    if b == 0:
        raise UsageError("arm: expected at least one unit, got an empty array")
    cols = {name: tensor(name, v, torch.float32)
            for name, v in (("outcome", outcome), ("cost", cost), ("propensity", propensity))}
    for name, t in cols.items():
        if t.shape[0] != b:
            raise UsageError(f"{name}: expected {b} entries (one per unit, like 'arm'), got "
                             f"{t.shape[0]}")
        if not bool(torch.isfinite(t).all()):
            raise UsageError(f"{name}: expected finite numbers")
    p = cols["propensity"]
    if bool(((p <= 0) | (p > 1)).any()):
        raise UsageError("propensity: expected values in (0, 1] (the design's probability of "
                         "the received arm)")
    m = int(a.max()) + 1 if n_arms is None else int(n_arms)
    if int(a.min()) < 0 or int(a.max()) >= m or m < 2:
        raise UsageError(f"arm: expected indices 0..{m - 1} with at least 2 arms, got "
                         f"{int(a.min())}..{int(a.max())}")
    feats = torch.empty((b, 0)) if x is None else torch.as_tensor(x)
    return ExperimentTensors(
        x=feats, arm=a, outcome=cols["outcome"], cost=cols["cost"], propensity=p,
        weight=1.0 / (m * p), n_arms=m, randomised=True,
    )
