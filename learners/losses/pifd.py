"""Bi-DFCL's primal improved finite-difference loss PIFD at the actual budget (papers.md §1.4,
eq. 17, App. A.4, Algorithm 3; Zhang et al., NeurIPS 2025; here on RCT data alone).

With λ* of the budget (the oracle, :mod:`learners.oracle`, detached), a_ij = r̂_ij - λ* ĉ_ij
and t̂_i = argmax_j a_ij, the batch's decision value is -L_DL = (1/B) Σ_i 1[t_i = t̂_i] r_i / p_{t_i}.
Its gradient with respect to the relaxed decisions z' is estimated by semi-black-box perturbation
of the *unrelaxed* loss, per unit (Algorithm 3, vectorised; c_i = r_i / (B p_{t_i})):

* matched (t_i = t̂_i): h_{i,t_i} = max_{j≠t_i} a_ij - a_{i,t_i} (<= 0) and, for every j ≠ t_i,
  h_ij = a_{i,t_i} - a_ij (>= 0); ∂(-L_DL)/∂z'_ij = -c_i / h_ij;
* mismatched: h_{i,t_i} = a_{i,t̂_i} - a_{i,t_i} (>= 0), h_{i,t̂_i} = -h_{i,t_i};
  ∂(-L_DL)/∂z'_ij = c_i / h_ij on those two entries, 0 elsewhere;

g = ∂L_DL/∂z' is frozen and the surrogate is

    L_PIFD = Σ_i Σ_j stopgrad(g_ij) z'_ij,    z'_ij = softmax_j((r̂_ij - λ* ĉ_ij) / τ)

(the linear form is reconstructed [I]: the paper says "freezing computed gradients as
non-trainable nodes"). The gradient magnitude is (reward at stake) / (margin to flip): units near
the decision boundary dominate. The value returned is L_DL itself (the batch's unrelaxed primal
decision loss) with the surrogate's gradient.

Algorithm 3 does not clip; |h| is floored at ``min_margin`` so that an exact tie does not divide
by zero. ``clip="fix"`` (optional, DFCL's clipping, :mod:`learners.losses.ifd`) keeps only the
entries with |h| < ``h`` and sets their |h| to ``h``. Margins and ``h`` are in the units of a
(the data's outcome units).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from learners.losses.inputs import (
    ArmCosts,
    LambdaSource,
    check_clip,
    check_positive,
    check_tau,
    rct_columns,
)
from learners.losses.margins import margins
from learners.oracle import LambdaCache, Spend
from learners.tensors import ExperimentTensors


def primal_finite_difference(
    value_pred: torch.Tensor, cost: torch.Tensor, batch: ExperimentTensors, lam: float, *,
    clip: str | None = None, h: float = 0.3, min_margin: float = 1e-6,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(g (B, M) = ∂L_DL/∂z' frozen, L_DL of the batch) at λ (see the module docstring)."""
    arm, y, _, w = rct_columns(batch, value_pred, "PIFDLoss")
    with torch.no_grad():
        m = margins(value_pred, cost, arm, lam)
        a = m.score
        b = value_pred.shape[0]
        coef = (w * y / b).unsqueeze(1)
        a_t = a.gather(1, arm)
        inf = torch.full_like(a, float("inf"))
        # |h_ij|: every other arm of a matched unit; t̂ of a mismatched one (inf: no gradient)
        mag = torch.where(m.matched.unsqueeze(1), (a_t - a).clamp_min(0.0), inf)
        gap = m.gap.unsqueeze(1)
        mag = mag.scatter(1, m.other, gap).scatter(1, arm, gap)
        # sign of g = -∂(-L_DL)/∂z': raising z' on t_i lowers the loss, on the others raises it
        sign = torch.ones_like(a).scatter(1, arm, -1.0)
        if clip == "fix":
            keep = mag < h
            mag = torch.full_like(a, h)
        else:
            keep = torch.isfinite(mag)
            mag = torch.where(keep, mag.clamp_min(min_margin), torch.ones_like(a))
        g = torch.where(keep, sign * coef / mag, torch.zeros_like(a))
        loss = -(m.matched.to(y.dtype) * w * y).mean()
    return g, loss


class PIFDLoss(nn.Module):
    """Σ_ij stopgrad(g_ij) softmax((r̂ - λ* ĉ)/τ)_ij with Algorithm 3's g at λ* of the budget.

    Parameters
    ----------
    budget_per_capita, lam, cache, spend:
        λ* as for :class:`~learners.losses.ppl.PPLLoss`.
    tau:
        temperature > 0 of the relaxed decisions z'.
    clip, h:
        None (default, Algorithm 3) or ``"fix"`` with bound ``h``.
    min_margin:
        floor of |h_ij| (> 0) where ``clip`` is None.
    fixed_costs:
        (M,) per-arm costs used when ``cost_pred`` is None.
    """

    def __init__(
        self, budget_per_capita: float | None = None, *, lam: float | None = None,
        cache: LambdaCache | None = None, spend: Spend = "ipw", tau: float = 1.0,
        clip: str | None = None, h: float = 0.3, min_margin: float = 1e-6,
        fixed_costs: Any = None,
    ) -> None:
        super().__init__()
        self.source = LambdaSource(budget_per_capita, lam, cache, spend)
        self.tau = check_tau(tau)
        self.clip, self.h = check_clip(clip, h)
        self.min_margin = check_positive("min_margin", min_margin)
        self.arm_costs = ArmCosts(fixed_costs)

    def finite_difference(
        self, value_pred: torch.Tensor, cost_pred: torch.Tensor | None, batch: ExperimentTensors,
    ) -> tuple[torch.Tensor, torch.Tensor, float]:
        """(g, L_DL, λ*) of a batch (for inspection and tests)."""
        cost = self.arm_costs(value_pred, cost_pred)
        lam = self.source(value_pred, cost, batch)
        g, loss = primal_finite_difference(value_pred, cost, batch, lam, clip=self.clip,
                                           h=self.h, min_margin=self.min_margin)
        return g, loss, lam

    def forward(
        self, value_pred: torch.Tensor, cost_pred: torch.Tensor | None, batch: ExperimentTensors
    ) -> torch.Tensor:
        cost = self.arm_costs(value_pred, cost_pred)
        lam = self.source(value_pred, cost, batch)
        g, loss = primal_finite_difference(value_pred, cost, batch, lam, clip=self.clip,
                                           h=self.h, min_margin=self.min_margin)
        z = torch.softmax((value_pred - lam * cost) / self.tau, dim=1)
        surrogate = (g * z).sum()
        return surrogate + (loss - surrogate).detach()
