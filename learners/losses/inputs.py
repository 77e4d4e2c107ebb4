"""What every decision loss reads from its inputs: the costs, the IPW weights, λ and the λ set.

* Costs: ``cost_pred`` (B, M), or, where the data has fixed per-arm costs (``cost_pred`` None),
  the known (M,) costs given to the loss's constructor, broadcast to (B, M).
* IPW weights 1 / p_{t_i} (papers.md §0.4): the design's propensity of the received arm, so a
  decision loss refuses observational batches.
* λ of the primal losses (papers.md §1.4): λ* of a per-capita budget searched on each
  mini-batch by the oracle (:mod:`learners.oracle`, detached), a fixed λ, or the λ* a
  :class:`learners.oracle.LambdaCache` holds (e.g. refreshed once per epoch).
* The λ set of the dual losses (papers.md §4.2) and the temperature τ.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from formulations.errors import UsageError
from learners.oracle import (
    SPENDS,
    LambdaCache,
    Spend,
    batch_lambda_star,
    check_budget_per_capita,
    check_lam,
    check_randomised,
    is_number,
)
from learners.tensors import ExperimentTensors


def check_lambdas(lambdas: Any) -> tuple[float, ...]:
    """A non-empty set of finite multipliers >= 0 (the dual losses' Λ)."""
    if is_number(lambdas):
        lambdas = (lambdas,)
    try:
        values = tuple(lambdas)
    except TypeError:
        raise UsageError(f"lambdas: expected a list of multipliers >= 0, got {lambdas!r}") from None
    if not values:
        raise UsageError("lambdas: expected at least one multiplier >= 0, got an empty set")
    return tuple(check_lam(v, "lambdas") for v in values)


def check_positive(name: str, x: Any, what: str = "number") -> float:
    """A finite ``x`` > 0, else a UsageError naming ``name``."""
    if not is_number(x) or not (np.isfinite(float(x)) and float(x) > 0):
        raise UsageError(f"{name}: expected a finite {what} > 0, got {x!r}")
    return float(x)


def check_tau(tau: Any) -> float:
    return check_positive("tau", tau, "temperature")


def check_clip(clip: Any, h: Any) -> tuple[str | None, float]:
    if clip not in (None, "fix"):
        raise UsageError(f"clip: expected None or 'fix', got {clip!r}")
    return clip, check_positive("h", h, "perturbation bound")


class ArmCosts(nn.Module):
    """The (B, M) costs a loss uses: ``cost_pred``, or the fixed per-arm costs (a buffer, so it
    follows ``.to(device)``) where ``cost_pred`` is None."""

    fixed_costs: torch.Tensor | None

    def __init__(self, fixed_costs: Any = None) -> None:
        super().__init__()
        if fixed_costs is None:
            self.register_buffer("fixed_costs", None)
            return
        fc = torch.as_tensor(np.asarray(fixed_costs.detach().cpu() if hasattr(
            fixed_costs, "detach") else fixed_costs, dtype=np.float64))
        if fc.ndim != 1 or fc.shape[0] < 2 or not bool(torch.isfinite(fc).all()):
            raise UsageError(f"fixed_costs: expected (M,) finite per-arm costs with M >= 2, got "
                             f"{fixed_costs!r}")
        self.register_buffer("fixed_costs", fc)

    def forward(self, value_pred: torch.Tensor, cost_pred: torch.Tensor | None) -> torch.Tensor:
        """(B, M) predicted costs, or the fixed per-arm costs broadcast to (B, M)."""
        if value_pred.ndim != 2 or value_pred.shape[1] < 2:
            raise UsageError(f"value_pred: expected (B, M) with M >= 2 arms, got shape "
                             f"{tuple(value_pred.shape)}")
        if cost_pred is not None:
            if cost_pred.shape != value_pred.shape:
                raise UsageError(f"cost_pred: expected shape {tuple(value_pred.shape)} like "
                                 f"value_pred, got {tuple(cost_pred.shape)}")
            return cost_pred
        if self.fixed_costs is None:
            raise UsageError("cost_pred is None (fixed per-arm costs) but the loss was built "
                             "without fixed_costs: pass fixed_costs=(M,) to its constructor")
        if self.fixed_costs.shape[0] != value_pred.shape[1]:
            raise UsageError(f"fixed_costs: {self.fixed_costs.shape[0]} arms, but value_pred "
                             f"has {value_pred.shape[1]}")
        return self.fixed_costs.to(value_pred).expand_as(value_pred)


def rct_columns(
    batch: ExperimentTensors, like: torch.Tensor, what: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(arm (B, 1), outcome, cost, 1/p) of a randomised batch, in ``like``'s dtype/device."""
    check_randomised(batch, what)
    if batch.arm.shape[0] != like.shape[0]:
        raise UsageError(f"{what}: the batch has {batch.arm.shape[0]} units but the predictions "
                         f"have {like.shape[0]} rows")
    arm = batch.arm.to(like.device).unsqueeze(1)
    y = batch.outcome.to(like)
    c = batch.cost.to(like)
    w = 1.0 / batch.propensity.to(like)
    return arm, y, c, w


class LambdaSource:
    """Exactly one of: a per-capita budget (λ* searched per batch), a fixed λ, or a cache."""

    def __init__(
        self, budget_per_capita: float | None, lam: float | None, cache: LambdaCache | None,
        spend: Spend,
    ) -> None:
        given = [x is not None for x in (budget_per_capita, lam, cache)]
        if sum(given) != 1:
            raise UsageError("give exactly one of budget_per_capita (λ* searched on each "
                             "mini-batch), lam (a fixed multiplier) and cache (a LambdaCache "
                             "refreshed by the training loop)")
        if spend not in SPENDS:
            raise UsageError(f"spend: expected one of {list(SPENDS)}, got {spend!r}")
        self.budget = None if budget_per_capita is None else check_budget_per_capita(
            budget_per_capita)
        self.lam = None if lam is None else check_lam(lam)
        if cache is not None and not isinstance(cache, LambdaCache):
            raise UsageError(f"cache: expected a learners.oracle.LambdaCache, got "
                             f"{type(cache).__name__}")
        self.cache = cache
        self.spend: Spend = spend
        self.last: float | None = None
        """the λ used by the last call (for logs and tests)"""

    def __call__(
        self, value_pred: torch.Tensor, cost: torch.Tensor, batch: ExperimentTensors
    ) -> float:
        if self.lam is not None:
            lam = self.lam
        elif self.cache is not None:
            if self.cache.lam is None:
                raise UsageError("cache: the LambdaCache holds no λ* yet; call its refresh() "
                                 "before the first batch")
            lam = self.cache.lam
        else:
            assert self.budget is not None
            lam = batch_lambda_star(value_pred, cost, batch, self.budget, spend=self.spend)
        self.last = lam
        return lam

