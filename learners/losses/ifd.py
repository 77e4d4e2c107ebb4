"""DFCL's improved finite-difference loss IFD (papers.md §4.2-4.3; Zhou et al., KDD 2024,
Algorithm 2, the "Lagrangian duality gradient estimator"; Bi-DFCL's DIFD, App. A.7).

For each λ in a set Λ, with a_ij = r̂_ij - λ ĉ_ij and the policy t̂_i = argmax_j a_ij:

1. the batch's per-capita value and cost of the policy on the RCT units it matches
   (t_i = t̂_i), and the dual decision value DDL = r̄ - λ c̄;
2. per unit, the minimal perturbation of one prediction that flips whether the unit is matched
   (:mod:`learners.losses.margins`): a matched unit leaves when a_{i,t_i} drops below its
   runner-up, a mismatched unit joins when a_{i,t_i} rises to a_{i,t̂_i}; the same flip by
   moving the other arm the opposite way. On r̂ the perturbation is ±(gap + ε); on ĉ it is
   ∓(gap + ε)/λ;
3. the local update of DDL after the flip (no re-solve: decisions decompose per unit at a
   fixed λ) and the finite-difference gradient g = ΔDDL_i / perturbation on the two entries;
4. perturbation clipping ``clip="fix"`` (the authors' code, h = 0.3): only perturbations with
   |p| < h keep a gradient and are set to ±h; the others get none. ``clip=None``: the raw
   quotient (its magnitude ~ 1/gap ranks the units nearest the boundary first);
5. the surrogate with frozen gradients L_IFD = -Σ_λ Σ_ij (g^r_ij r̂_ij + g^c_ij ĉ_ij).

The value returned is -Σ_λ DDL(λ) (the unrelaxed dual decision loss of the batch) with the
gradient of the surrogate (``s + (value - s).detach()``), so a training log shows the loss
itself.

Choices (and why):

* ``form="ipw"`` (default) estimates r̄, c̄ by IPW, r̄ = (1/B) Σ_matched r_i / p_{t_i}, as the
  paper's EOM and DDL = -Σ_i (r - λc) z / p are written; a flip then changes DDL by exactly
  ±(r_i - λ c_i) / (B p_{t_i}), the same local form as Bi-DFCL's Algorithm 3.
  ``form="snipw"`` is the authors' code: self-normalised r̄ = Σ_matched r/p / Σ_matched 1/p,
  updated as (r̄ S ± r_i/p_i) / (S ± 1/p_i); lower variance, but it is a ratio, not the dual
  objective (a unit with positive r - λc can lower it by joining).
* ``cost_gradient=True`` (default, the paper's surrogate) also trains ĉ through g^c;
  ``False`` is the code's demo (only r̂ gets a gradient).
* The weights 1/p are kept (the paper); the demo's PL/MER drop them, its IFD keeps them.
* A mismatched unit's flip by lowering a_{i,t̂_i} is assumed to land on t_i (as in the paper and
  the code), which is exact when t_i is the runner-up (always for two arms).
* The perturbation bound h is in the units of a (the data's outcome units).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from formulations.errors import UsageError
from learners.losses.inputs import (
    ArmCosts,
    check_clip,
    check_lambdas,
    check_positive,
    rct_columns,
)
from learners.losses.margins import margins
from learners.tensors import ExperimentTensors

FORMS = ("ipw", "snipw")


@dataclass(frozen=True, eq=False)
class FiniteDifference:
    """The frozen IFD gradients of DDL at one λ (to maximise DDL: ascend them)."""

    d_value: torch.Tensor
    """(B, M) g^r = ∂DDL/∂r̂ (non-zero on t_i and the flip's other arm only)"""
    d_cost: torch.Tensor
    """(B, M) g^c = ∂DDL/∂ĉ (zero at λ = 0)"""
    ddl: torch.Tensor
    """the batch's dual decision value r̄ - λ c̄ (a scalar)"""


def dual_finite_difference(
    value_pred: torch.Tensor, cost: torch.Tensor, batch: ExperimentTensors, lam: float, *,
    form: str = "ipw", clip: str | None = "fix", h: float = 0.3, eps: float = 1e-6,
) -> FiniteDifference:
    """The IFD estimate of ∂DDL/∂r̂ and ∂DDL/∂ĉ at λ (see the module docstring)."""
    arm, y, c, w = rct_columns(batch, value_pred, "IFDLoss")
    with torch.no_grad():
        m = margins(value_pred, cost, arm, lam)
        b = value_pred.shape[0]
        hit = m.matched.to(y.dtype)
        gain = w * (y - lam * c)
        # +1: the flip makes the unit count (join), -1: it stops counting (leave)
        sign = 1.0 - 2.0 * hit
        if form == "ipw":
            ddl = (hit * gain).sum() / b
            d_ddl = sign * gain / b
        else:
            s = (hit * w).sum()
            num = (hit * gain).sum()
            ddl = torch.where(s > 0, num / s.clamp_min(1e-300), torch.zeros_like(s))
            s2 = s + sign * w
            # a unit that was the only matched one leaves nothing to average: no gradient
            ddl2 = torch.where(s2 > 1e-12 * s.clamp_min(1.0),
                               (num + sign * gain) / s2.clamp_min(1e-300), ddl)
            d_ddl = ddl2 - ddl
        step = m.gap + eps
        # on r̂_{i,t_i}: +step to join (raise), -step to leave (lower); the other arm opposite
        pert_r = sign * step
        keep_r = torch.ones_like(step, dtype=torch.bool)
        if clip == "fix":
            keep_r = step < h
            pert_r = sign * h
        g_r = torch.where(keep_r, d_ddl / pert_r, torch.zeros_like(step))
        d_value = torch.zeros_like(value_pred).scatter(1, arm, g_r.unsqueeze(1))
        d_value = d_value.scatter(1, m.other, -g_r.unsqueeze(1))
        d_cost = torch.zeros_like(value_pred)
        if lam > 0:
            # on ĉ_{i,t_i} the same flip is -sign * step / λ (a cheaper arm scores higher)
            size_c = step / lam
            pert_c = -sign * size_c
            keep_c = torch.ones_like(step, dtype=torch.bool)
            if clip == "fix":
                keep_c = size_c < h
                pert_c = -sign * h
            g_c = torch.where(keep_c, d_ddl / pert_c, torch.zeros_like(step))
            d_cost = d_cost.scatter(1, arm, g_c.unsqueeze(1))
            d_cost = d_cost.scatter(1, m.other, -g_c.unsqueeze(1))
    return FiniteDifference(d_value=d_value, d_cost=d_cost, ddl=ddl)


class IFDLoss(nn.Module):
    """-Σ_λ Σ_ij (g^r_ij r̂_ij + g^c_ij ĉ_ij) with frozen finite-difference gradients g.

    Parameters
    ----------
    lambdas:
        the set Λ (non-empty, each >= 0), as for :class:`~learners.losses.mer.MERLoss`.
    form:
        ``"ipw"`` (default, the paper's estimator) or ``"snipw"`` (the authors' code).
    clip, h:
        ``"fix"`` (default, the code) with bound ``h`` (0.3, in the units of r̂ - λĉ), or None.
    cost_gradient:
        True (default, the paper) also gives ĉ its gradient; False trains r̂ only (the demo).
    eps:
        added to every gap so the perturbation strictly flips the decision (the code's 1e-6).
    fixed_costs:
        (M,) per-arm costs used when ``cost_pred`` is None (then only r̂ is trained).
    """

    def __init__(
        self, lambdas: Any, *, form: str = "ipw", clip: str | None = "fix", h: float = 0.3,
        cost_gradient: bool = True, eps: float = 1e-6, fixed_costs: Any = None,
    ) -> None:
        super().__init__()
        self.lambdas = check_lambdas(lambdas)
        if form not in FORMS:
            raise UsageError(f"form: expected one of {list(FORMS)}, got {form!r}")
        self.form = form
        self.clip, self.h = check_clip(clip, h)
        self.eps = check_positive("eps", eps)
        self.cost_gradient = bool(cost_gradient)
        self.arm_costs = ArmCosts(fixed_costs)

    def finite_difference(
        self, value_pred: torch.Tensor, cost_pred: torch.Tensor | None, batch: ExperimentTensors,
        lam: float,
    ) -> FiniteDifference:
        """The frozen gradients at one λ (for inspection and tests)."""
        cost = self.arm_costs(value_pred, cost_pred)
        return dual_finite_difference(value_pred, cost, batch, lam, form=self.form,
                                      clip=self.clip, h=self.h, eps=self.eps)

    def forward(
        self, value_pred: torch.Tensor, cost_pred: torch.Tensor | None, batch: ExperimentTensors
    ) -> torch.Tensor:
        cost = self.arm_costs(value_pred, cost_pred)
        surrogate = value_pred.new_zeros(())
        value = value_pred.new_zeros(())
        train_cost = self.cost_gradient and cost_pred is not None
        for lam in self.lambdas:
            fd = dual_finite_difference(value_pred, cost, batch, lam, form=self.form,
                                        clip=self.clip, h=self.h, eps=self.eps)
            surrogate = surrogate - (fd.d_value * value_pred).sum()
            if train_cost:
                surrogate = surrogate - (fd.d_cost * cost).sum()
            value = value - fd.ddl
        return surrogate + (value - surrogate).detach()
