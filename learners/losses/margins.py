"""Where each unit stands against the decision boundary at a multiplier λ (IFD, PIFD).

With scores a_ij = r̂_ij - λ ĉ_ij (detached) every unit takes t̂_i = argmax_j a_ij (the
oracle's rule, :func:`learners.oracle.lagrangian_argmax_torch`). A unit is *matched* when its
random arm t_i is t̂_i: the RCT estimators count it. The smallest change of one score that flips
whether it counts (papers.md §1.4 Algorithm 3, §4.3):

* matched: lower a_{i,t_i} below its runner-up (the best other arm): gap a_{i,t_i} - a_{i,runner};
* mismatched: raise a_{i,t_i} to a_{i,t̂_i}: gap a_{i,t̂_i} - a_{i,t_i}.

``other`` is the arm on the other side of that flip (the runner-up, or t̂_i).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from learners.oracle import lagrangian_argmax_torch


@dataclass(frozen=True, eq=False)
class Margins:
    score: torch.Tensor
    """(B, M) detached a = r̂ - λ ĉ"""
    chosen: torch.Tensor
    """(B,) t̂, the arm the policy gives each unit"""
    matched: torch.Tensor
    """(B,) bool, t_i == t̂_i"""
    other: torch.Tensor
    """(B, 1) the runner-up of a matched unit, t̂ of a mismatched one (never t_i)"""
    gap: torch.Tensor
    """(B,) >= 0, how far a_{i,t_i} must move to flip the unit"""


def margins(
    value_pred: torch.Tensor, cost: torch.Tensor, arm: torch.Tensor, lam: float
) -> Margins:
    """The :class:`Margins` of a batch; ``arm`` (B, 1) the received arms."""
    with torch.no_grad():
        a = value_pred.detach() - lam * cost.detach()
        chosen = lagrangian_argmax_torch(value_pred, cost, lam)
        matched = chosen == arm.squeeze(1)
        a_t = a.gather(1, arm).squeeze(1)
        runner = a.scatter(1, arm, float("-inf")).argmax(dim=1)
        other = torch.where(matched, runner, chosen).unsqueeze(1)
        a_o = a.gather(1, other).squeeze(1)
        gap = torch.where(matched, a_t - a_o, a_o - a_t).clamp_min(0.0)
    return Margins(score=a, chosen=chosen, matched=matched, other=other, gap=gap)
