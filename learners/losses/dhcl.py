"""DHCL: the decision factor learned directly (papers.md §5; Zhou et al., AAAI 2023). The loss
and the exact multi-treatment form are RECONSTRUCTED [I] (papers.md §5.2): the paper's own
loss was not recovered.

The decision factor [I]. With the arms ordered by cost (arm 0 the control, c_i0 < c_i1 < ...),
θ_ij for j = 1..M-1 is the marginal ROI between arms j-1 and j,

    θ_ij = (r_ij - r_i,j-1) / (c_ij - c_i,j-1).

If value is concave in cost (θ non-increasing in j, diminishing marginal utility) the Lagrangian
choice argmax_j (r_ij - λ c_ij) is the largest j with θ_ij > λ (0 if θ_i1 <= λ): the OR step is a
comparison of each θ with one λ (:func:`dhcl_choice`). As a parameter provider DHCL writes the
instance with the incremental costs of a cost model (or the arms' fixed costs) and

    value_ij = Σ_{k<=j} θ_ik (c_ik - c_i,k-1)        (:func:`dhcl_values`)

whose hull has efficiencies θ_ij, so the engine's Lagrangian allocation equals the rule.
:func:`decreasing_factors` parametrises a non-increasing θ from free network outputs.

The loss [I], chosen: the quadratic loss of §5.2 between adjacent arms, with the cost uplift
from the cost model in the quadratic term (``cost_term="model"``, default):

    ℓ = (1/B) Σ_i Σ_j [ ½ Δĉ_ij θ_ij² - ω_ij r_i θ_ij ],   Δĉ_ij = ĉ_ij - ĉ_i,j-1 (detached),
    ω_ij = 1[t_i = j] / p_{t_i} - 1[t_i = j-1] / p_{t_i}                   (signed IPW weight)

Under randomisation E[ω_ij r_i | x] = τ_r,j(x) = E[r(j) - r(j-1) | x], so the population
minimiser is θ_ij = τ_r,j(x) / Δĉ_ij(x): the marginal ROI. Why this one: it is strictly convex
in θ per unit and bounded below on every finite sample (the signed weights enter only the linear
term), whereas §5.2's fully-IPW form ``cost_term="ipw"``,

    ℓ = (1/B) Σ_i Σ_j ω_ij ( ½ c_i θ_ij² - r_i θ_ij ),

(minimiser τ_r / τ_c, available here) is unbounded below on finite samples (a negative ω c
makes the quadratic concave), which papers.md flags. The price: θ is only as good as the cost
model's Δĉ; with fixed per-arm costs Δc is exact. Δĉ is floored at ``min_cost_step`` (> 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from formulations.errors import UsageError
from learners.losses.inputs import ArmCosts, check_positive, rct_columns
from learners.tensors import ExperimentTensors

COST_TERMS = ("model", "ipw")


def dhcl_values(theta: Any, costs: Any) -> np.ndarray:
    """(N, M) value_ij = Σ_{k<=j} θ_ik (c_ik - c_i,k-1), value_i0 = 0.

    ``theta`` (N, M-1) decision factors, ``costs`` (N, M) per-arm costs in cost order (any
    offset: only the differences enter; e.g. incremental costs with column 0 = 0).
    """
    th = np.asarray(theta, dtype=np.float64)
    c = np.asarray(costs, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] < 2 or th.shape != (c.shape[0], c.shape[1] - 1):
        raise UsageError(f"theta/costs: expected (N, M-1) and (N, M) with M >= 2, got "
                         f"{th.shape} and {c.shape}")
    steps = np.diff(c, axis=1)
    out = np.zeros(c.shape)
    np.cumsum(th * steps, axis=1, out=out[:, 1:])
    return out


def dhcl_choice(theta: Any, lam: float) -> np.ndarray:
    """(N,) int64 the comparison rule: the largest j with θ_ij > λ (0 when none).

    papers.md §5.2 writes θ_ij >= λ; at exact equality this follows the engine's hull rule
    (an increment is taken only when its efficiency is strictly above λ), so that for
    non-increasing θ and increasing costs the rule is the Lagrangian allocation of
    :func:`dhcl_values`'s instance.
    """
    th = np.asarray(theta, dtype=np.float64)
    if th.ndim != 2:
        raise UsageError(f"theta: expected (N, M-1), got shape {th.shape}")
    above = th > float(lam)
    j = np.arange(1, th.shape[1] + 1)
    return np.asarray(np.where(above, j, 0).max(axis=1, initial=0), dtype=np.int64)


def decreasing_factors(raw: torch.Tensor) -> torch.Tensor:
    """θ (B, M-1) non-increasing in j from free outputs: θ_1 = raw_1, θ_j = θ_j-1 - softplus."""
    if raw.shape[1] < 2:
        return raw
    drops = torch.nn.functional.softplus(raw[:, 1:])
    return torch.cat([raw[:, :1], raw[:, :1] - torch.cumsum(drops, dim=1)], dim=1)


class DHCLLoss(nn.Module):
    """The quadratic signed-IPW decision-factor loss between adjacent cost-ordered arms [I].

    ``forward(theta, cost_pred, batch)``: ``theta`` (B, M-1) the decision factors (in place of
    the value predictions of the other losses), ``cost_pred`` (B, M) the cost model's
    predictions (detached here: the cost model learns from its own loss), or None for the
    fixed per-arm costs given to the constructor.

    Parameters
    ----------
    cost_term:
        ``"model"`` (default; Δĉ in the quadratic term) or ``"ipw"`` (§5.2's signed-IPW
        realised cost); see the module docstring.
    min_cost_step:
        floor (> 0) of the cost increments Δĉ between adjacent arms.
    fixed_costs:
        (M,) per-arm costs, strictly increasing (the arms in cost order).
    """

    def __init__(
        self, *, cost_term: str = "model", min_cost_step: float = 1e-6, fixed_costs: Any = None,
    ) -> None:
        super().__init__()
        if cost_term not in COST_TERMS:
            raise UsageError(f"cost_term: expected one of {list(COST_TERMS)}, got {cost_term!r}")
        self.cost_term = cost_term
        self.min_cost_step = check_positive("min_cost_step", min_cost_step)
        self.arm_costs = ArmCosts(fixed_costs)
        fc = self.arm_costs.fixed_costs
        if fc is not None and not bool((fc[1:] > fc[:-1]).all()):
            raise UsageError(f"fixed_costs: DHCL needs the arms in strictly increasing cost "
                             f"order (marginal ROI between adjacent arms), got {fc.tolist()}")

    def forward(
        self, theta: torch.Tensor, cost_pred: torch.Tensor | None, batch: ExperimentTensors
    ) -> torch.Tensor:
        if theta.ndim != 2:
            raise UsageError(f"theta: expected (B, M-1), got shape {tuple(theta.shape)}")
        m = theta.shape[1] + 1
        arm, y, c, w = rct_columns(batch, theta, "DHCLLoss")
        if batch.n_arms != m:
            raise UsageError(f"theta: expected {batch.n_arms - 1} columns (M-1 adjacent pairs "
                             f"of the batch's {batch.n_arms} arms), got {theta.shape[1]}")
        j = torch.arange(1, m, device=theta.device)
        t = arm  # (B, 1)
        omega = (w.unsqueeze(1) * ((t == j).to(theta.dtype) - (t == j - 1).to(theta.dtype)))
        if self.cost_term == "model":
            full = self.arm_costs(theta.new_zeros((theta.shape[0], m)), cost_pred)
            step = torch.diff(full.detach().to(theta), dim=1).clamp_min(self.min_cost_step)
            per = 0.5 * step * theta.square() - omega * y.unsqueeze(1) * theta
        else:
            per = omega * (0.5 * c.unsqueeze(1) * theta.square() - y.unsqueeze(1) * theta)
        return per.sum(dim=1).mean()
