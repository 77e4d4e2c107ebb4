"""DFCL's policy learning loss PLL (papers.md §4.2; Zhou et al., KDD 2024).

    L_PLL = - Σ_{λ ∈ Λ} (1/B) Σ_i (1 / p_{t_i}) (r_i - λ c_i) softmax_j(r̂_ij - λ ĉ_ij)[t_i]

The softmax relaxation of the dual decision loss with the RCT weights N / N_{t_i} = 1 / p_{t_i};
DFCL shows it equals the smoothed dual loss in expectation and has the same minimiser. It is the
maximum-entropy loss at τ = 1 (:class:`learners.losses.mer.MERLoss`, where the formula and the
paper-versus-demo note live). As in the paper, the weights are kept (the demo drops them).
"""

from __future__ import annotations

from typing import Any

from learners.losses.mer import MERLoss


class PLLoss(MERLoss):
    """MER at τ = 1: -Σ_λ mean_i (r_i - λ c_i) softmax(r̂ - λ ĉ)[t_i] / p_{t_i}."""

    def __init__(self, lambdas: Any, *, fixed_costs: Any = None) -> None:
        super().__init__(lambdas, tau=1.0, fixed_costs=fixed_costs)
