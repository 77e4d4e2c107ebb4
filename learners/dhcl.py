"""DHCL as a parameter provider: decision factors learned directly (papers.md §5; [I]).

The network predicts, for the arms in increasing cost order (the control first), the decision
factors θ_ij (the marginal ROI between cost-ordered arms j-1 and j, kept non-increasing in j by
:func:`learners.losses.decreasing_factors`: diminishing marginal utility, the assumption under
which the comparison rule is the Lagrangian allocation) and, where costs are not known, every
arm's cost (a cost model), and an outcome baseline b(x). It trains on the reconstructed DHCL
loss (learners/losses/dhcl.py, the quadratic signed-IPW loss between adjacent arms [I]) applied
to r - b(x) (a control variate [I], see ``DHCLTrainingLoss``), plus the baseline's squared
error and ``pl_weight`` x the scaled squared error of the cost model on the factual rows.

As a provider it predicts costs from its cost model (or the arms' fixed costs, made monotone
along the cost order) and values

    value_ij = Σ_{k<=j} θ_ik (c_ik - c_i,k-1)         (value_i0 = 0)

so that the engine's Lagrangian allocation of its instance is the comparison rule "the largest j
with θ_ij > λ" (tested). Arms must have distinct mean costs in training (an order to take
marginal ROIs along); the control must be the cheapest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from formulations.errors import UsageError
from formulations.experiment_data import ExperimentData
from learners.training import TrainingOptions
from learners.two_stage import TorchProvider

if TYPE_CHECKING:
    import torch


def cost_order(train: ExperimentData, fixed: np.ndarray | None) -> np.ndarray:
    """(M,) arm indices by increasing mean training cost; refuses ties and a costly control."""
    if fixed is not None and not np.any(np.isnan(fixed)):
        mean = fixed
    else:
        counts = np.maximum(train.arm_counts, 1)
        mean = np.bincount(train.arm, weights=train.cost, minlength=train.n_arms) / counts
    order = np.argsort(mean, kind="stable")
    steps = np.diff(mean[order])
    if np.any(steps <= 1e-12):
        i = int(np.flatnonzero(steps <= 1e-12)[0])
        a, b = train.arms[order[i]], train.arms[order[i + 1]]
        raise UsageError(f"{train.source}: dhcl needs arms with distinct costs (marginal ROI "
                         f"between cost-ordered arms), and arms {a!r} and {b!r} cost the same "
                         f"on average ({mean[order[i]]:.6g})")
    if order[0] != 0:
        raise UsageError(f"{train.source}: dhcl needs the control {train.arms[0]!r} to be the "
                         f"cheapest arm; {train.arms[order[0]]!r} costs less on average")
    return np.asarray(order, dtype=np.int64)


def _network_class() -> Any:
    import torch
    from torch import nn

    from learners.losses import decreasing_factors
    from learners.networks import _Scaled, relu_trunk

    class DHCLNetwork(_Scaled):
        """Trunk -> θ (B, M-1) non-increasing, and costs (B, M), both in cost order."""

        def __init__(self, n_inputs: int, n_arms: int, hidden: Sequence[int],
                     predict_cost: bool = True, outcome_scale: float = 1.0,
                     cost_scale: float = 1.0, fixed_costs: Sequence[float] | None = None,
                     cost_floor: Sequence[float] | None = None,
                     theta_scale: float = 1.0) -> None:
            super().__init__(n_arms, outcome_scale, cost_scale, fixed_costs, cost_floor)
            self.trunk, width = relu_trunk(n_inputs, hidden)
            self.n_arms = n_arms
            self.predict_cost = predict_cost
            # M-1 decision factors, one outcome baseline, and M costs where they are learned
            self.head = nn.Linear(width, n_arms + (n_arms if predict_cost else 0))
            self.register_buffer("theta_scale", torch.tensor(float(theta_scale)))

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
            out = self.head(self.trunk(x))
            m = self.n_arms
            theta = decreasing_factors(out[:, : m - 1] * self.theta_scale)
            first = torch.cat([theta, out[:, m - 1:m] * self.outcome_scale], dim=1)
            if not self.predict_cost:
                return first, None
            return first, self._cost(out[:, m:])

    return DHCLNetwork


@dataclass(eq=False)
class DHCLProvider(TorchProvider):
    """A TorchProvider whose network outputs decision factors in cost order."""

    order: np.ndarray | None = None
    """(M,) the arm index at each cost-order position"""

    def from_outputs(
        self, out: torch.Tensor, cost: torch.Tensor | None
    ) -> tuple[np.ndarray, np.ndarray]:
        from learners.losses import dhcl_values

        assert self.order is not None
        theta = out.detach().double().cpu().numpy()[:, :-1]  # the last column is the baseline
        n, m = theta.shape[0], theta.shape[1] + 1
        if cost is None:
            assert self.fixed_costs is not None
            sorted_cost = np.broadcast_to(self.fixed_costs[self.order], (n, m)).copy()
        else:
            sorted_cost = cost.detach().double().cpu().numpy()
        # costs along the cost order must rise (strictly: a flat step would make two arms one
        # point of the hull) for θ to be the efficiency of every increment
        eps = 1e-6 * self.cost_scale
        for j in range(1, m):
            sorted_cost[:, j] = np.maximum(sorted_cost[:, j], sorted_cost[:, j - 1] + eps)
        value = np.empty((n, m))
        cost_out = np.empty((n, m))
        value[:, self.order] = dhcl_values(theta, sorted_cost)
        cost_out[:, self.order] = sorted_cost
        return value, cost_out


def _training_loss(decision: Any, pl_weight: float, outcome_scale: float,
                   cost_scale: float) -> Any:
    import dataclasses

    from torch import nn

    class DHCLTrainingLoss(nn.Module):
        """DHCL's decision loss on outcomes minus the baseline, + the baseline's and (x
        ``pl_weight``) the cost model's scaled squared errors on the factual rows.

        The baseline b(x) is a control variate [I]: the signed IPW weights have mean 0 given x
        (E[1[t=j]/p_j - 1[t=j-1]/p_j-1 | x] = 0), so r - b(x) leaves the loss's population
        minimiser (the marginal ROI) unchanged and removes most of the variance the heavy-tailed
        outcome brings into the signed weights (without it the factors learned on 10,000 users
        were barely correlated with the true ROI, 0.1-0.3).
        """

        def forward(self, first: Any, cost_pred: Any, batch: Any) -> Any:
            theta, base = first[:, :-1], first[:, -1]
            centred = dataclasses.replace(batch, outcome=batch.outcome - base.detach())
            out = decision(theta, cost_pred, centred)
            out = out + (batch.weight * ((batch.outcome - base) / outcome_scale).square()).mean()
            if cost_pred is not None:
                err = cost_pred.gather(1, batch.arm.unsqueeze(1)).squeeze(1) - batch.cost
                out = out + pl_weight * (batch.weight * (err / cost_scale).square()).mean()
            return out

    return DHCLTrainingLoss()


def fit_dhcl(
    train: ExperimentData,
    *,
    validation: ExperimentData,
    options: TrainingOptions,
    pl_weight: float = 1.0,
    hidden: Sequence[int] | None = None,
    budgets: np.ndarray | None = None,
    on_epoch: Callable[[Mapping[str, float]], None] | None = None,
) -> DHCLProvider:
    from learners.features import FeatureSchema
    from learners.known_costs import all_fixed, cost_floor, fixed_arm_costs
    from learners.losses import DHCLLoss
    from learners.networks import default_hidden
    from learners.tensors import experiment_tensors
    from learners.training import seed_everything
    from learners.two_stage import _scale, data_summary, run_training, training_summary
    from learners.validation import make_validation

    for d, what in ((train, "training"), (validation, "validation")):
        if d.kind != "rct":
            raise UsageError(f"{d.source}: dhcl needs randomised {what} data (its loss weights "
                             "units by 1/P(arm)); this data is observational")
    fixed = fixed_arm_costs(train)
    if not all_fixed(fixed) and not pl_weight > 0:
        raise UsageError("--pl-weight: dhcl learns its cost model from the cost loss, weighted "
                         "by --pl-weight; expected a weight > 0")
    order = cost_order(train, fixed)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    schema = FeatureSchema.fit(train.features)
    h = tuple(hidden) if hidden else default_hidden(schema.width)
    mean_cost = np.bincount(train.arm, weights=train.cost, minlength=train.n_arms) / np.maximum(
        train.arm_counts, 1)
    step = float(np.mean(np.diff(np.sort(mean_cost))))
    outcome_scale = _scale(train.outcome)
    cost_scale = 1.0 if all_fixed(fixed) else _scale(train.cost)
    sorted_fixed = None if fixed is None else fixed[order]
    seed_everything(options.seed)
    net = _network_class()(
        schema.width, train.n_arms, h, predict_cost=not all_fixed(fixed),
        outcome_scale=outcome_scale, cost_scale=cost_scale, fixed_costs=sorted_fixed,
        cost_floor=cost_floor(train)[order], theta_scale=outcome_scale / max(step, 1e-12))
    provider = DHCLProvider(method="dhcl", arms=train.arms, schema=schema, network=net, hidden=h,
                            outcome_scale=outcome_scale, cost_scale=cost_scale, fixed_costs=fixed,
                            seed=options.seed, device=options.device, order=order)
    cols = provider.arm_index(validation)
    tt = experiment_tensors(train, schema, device=options.device, columns=rank)
    vt = experiment_tensors(validation, schema, device=options.device, columns=rank[cols])
    val = make_validation(validation, budgets, model_arms=provider.arms)
    decision = DHCLLoss(fixed_costs=sorted_fixed if all_fixed(fixed) else None)
    loss = _training_loss(decision, pl_weight, outcome_scale, cost_scale)
    result = run_training(provider, loss, tt, vt, val, options, on_epoch=on_epoch)
    provider.hyperparameters.update(pl_weight=pl_weight, cost_order=[int(x) for x in order],
                                    theta_scale=float(outcome_scale / max(step, 1e-12)))
    provider.training = {**data_summary(train, validation), **training_summary(result)}
    provider.training_log = result.log
    return provider


def dhcl_network(n_inputs: int, n_arms: int, hidden: Sequence[int], **kw: Any) -> Any:
    """The DHCL network class instantiated (for loading a saved model)."""
    return _network_class()(n_inputs, n_arms, hidden, **kw)
