"""The engine as the oracle inside training: λ* for a budget and the per-unit argmax at λ.

ARCHITECTURE.md convention 7: decision-focused losses see the solver only through this module.
Everything works on DETACHED arrays (numpy float64; torch tensors are detached, moved to the CPU
and converted), vectorised over units (loops run over the M arms only), so a loss may call it on
every mini-batch, or a training loop once per epoch on the whole RCT train split
(:class:`LambdaCache` holds the last λ*).

The policy (papers.md §0.2): for predictions (r̂, ĉ) (N, M) and a multiplier λ >= 0 every unit
takes ``argmax_j (r̂_ij - λ ĉ_ij)``, with the engine's hull semantics at exact ties (the cheaper
option; among identical options the first): :func:`lagrangian_argmax` (numpy, the engine's
kernel) and :func:`lagrangian_argmax_torch` (the same rule in torch, for the losses).

λ*(B) for a per-capita budget B (papers.md §0.3; budgets are INCREMENTAL over the all-control
policy, arm 0, as everywhere in the project) from one of two spend estimates:

* ``spend="ipw"`` (the default, as the papers train: Bi-DFCL Algorithm 2, the IPW realised cost
  of the RCT units whose random arm the policy picks,
  ``(1/N) Σ_i 1[t_i = π(i)] c_i / p_{t_i}`` minus the same for all-control): the λ that
  :func:`evaluation.policy.eom_at_budget` finds, computed by the same code
  (:func:`evaluation.eom_curve.eom_curve` on the λ path, exactly what the papers' bisection
  converges to, without bisection);
* ``spend="predicted"`` (as deployment allocates: no labels online; papers.md §0.3 marks this
  use [I]): the multiplier of the
  engine's ``dual`` solver on the incremental instance ``r̂ - r̂_{:,0}``, ``ĉ - ĉ_{:,0}`` with
  limit B x N: the efficiency of the critical hull increment of the one-budget LP
  (:func:`engine.dual.one_budget.solve_one_budget`), equal to
  ``engine.solve(instance, "dual").multipliers["cost"]``.

A negative budget is an error (it is below the all-control spend, 0 in incremental terms); a
budget the λ = 0 policy already fits (every unit gets its most valuable arm) returns λ* = 0 with a
:class:`learners.provider.BudgetWarning`.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from formulations.errors import UsageError
from learners.provider import BUDGET, BudgetWarning, incremental

if TYPE_CHECKING:
    import torch

    from learners.tensors import ExperimentTensors

Spend = Literal["ipw", "predicted"]
SPENDS: tuple[str, ...] = ("ipw", "predicted")


def as_numpy(name: str, x: Any, *, ndim: int | None = None) -> np.ndarray:
    """``x`` as a float64 numpy array; a torch tensor is detached and copied to the CPU."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().double().numpy()
    a = np.asarray(x, dtype=np.float64)
    if ndim is not None and a.ndim != ndim:
        raise UsageError(f"{name}: expected a {ndim}-D array, got shape {a.shape}")
    return a


def _predictions(value_pred: Any, cost_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    vp = as_numpy("value_pred", value_pred, ndim=2)
    cp = as_numpy("cost_pred", cost_pred, ndim=2)
    if vp.shape != cp.shape or vp.shape[0] == 0 or vp.shape[1] < 2:
        raise UsageError(f"value_pred/cost_pred: expected two arrays of the same shape (N, M) "
                         f"with N >= 1 and M >= 2 arms, got {vp.shape} and {cp.shape}")
    for name, a in (("value_pred", vp), ("cost_pred", cp)):
        if not np.isfinite(a).all():
            i, j = (int(k) for k in np.argwhere(~np.isfinite(a))[0])
            raise UsageError(f"{name}: expected finite numbers, found {a[i, j]!r} at unit {i}, "
                             f"arm {j}")
    return vp, cp


def is_number(x: Any) -> bool:
    """A real scalar (Python or numpy), not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool | np.bool_)


def check_budget_per_capita(budget: Any, name: str = "budget_per_capita") -> float:
    """A finite per-capita incremental budget >= 0 (the all-control spend is 0)."""
    if not is_number(budget):
        raise UsageError(f"{name}: expected a number, got {budget!r}")
    b = float(budget)
    if not np.isfinite(b):
        raise UsageError(f"{name}: expected a finite number, got {budget!r}")
    if b < 0:
        raise UsageError(f"{name}: expected >= 0, got {budget!r}: budgets are incremental over "
                         "the all-control policy, which spends 0, so a negative budget is below "
                         "the all-control spend")
    return b


def check_lam(lam: Any, name: str = "lam") -> float:
    """A finite multiplier >= 0."""
    if not is_number(lam):
        raise UsageError(f"{name}: expected a number, got {lam!r}")
    x = float(lam)
    if not (np.isfinite(x) and x >= 0):
        raise UsageError(f"{name}: expected a finite multiplier >= 0, got {lam!r}")
    return x


def _warn_top(budget: float, spend: float, what: str) -> None:
    warnings.warn(
        f"budget_per_capita {budget:.6g} is at or above the {what} spend of giving every unit its "
        f"most valuable arm ({spend:.6g} per capita): every unit gets its top arm, lambda* = 0",
        BudgetWarning, stacklevel=4)


def _predicted_lambda(vp: np.ndarray, cp: np.ndarray, budget: float) -> float:
    from engine.dual.arrays import DualArrays, flush_subnormal
    from engine.dual.one_budget import solve_one_budget

    n = vp.shape[0]
    inc_v, inc_c = incremental(vp, cp)
    # the DualArrays engine.dual builds for the provider's incremental instance (exactly-one,
    # rectangular, no capacities: engine/dual/arrays.py), without the Instance round trip
    arr = DualArrays(
        value=flush_subnormal(inc_v), costs=flush_subnormal(inc_c)[None], valid=None,
        limits=np.array([budget * n]), row_names=(BUDGET,), n_budgets=1, null_column=None,
    )
    sol = solve_one_budget(arr, improve=False)
    if not sol.feasible or sol.cols is None:  # pragma: no cover - incremental control costs 0
        raise UsageError(f"budget_per_capita {budget!r}: the cheapest predicted options already "
                         f"spend more ({sol.info.get('cheapest_spend')!r} in all)")
    if sol.lam == 0.0:
        _warn_top(budget, float(arr.usage(sol.cols)[0]) / n, "predicted")
    return float(sol.lam)


def _ipw_lambda(
    vp: np.ndarray, cp: np.ndarray, budget: float, received: Any, cost: Any, propensity: Any,
) -> tuple[float, np.ndarray]:
    from evaluation.eom_curve import eom_curve

    if received is None or cost is None:
        raise UsageError("spend='ipw': give 'received' (the arm each unit was randomised to) and "
                         "'cost' (its realised cost), or use spend='predicted'")
    t = np.asarray(received.detach().cpu().numpy() if hasattr(received, "detach") else received)
    c = as_numpy("cost", cost, ndim=1)
    p = None if propensity is None else as_numpy("propensity", propensity, ndim=1)
    # the outcome does not enter λ*: zeros keep eom_curve's checks and cost the same
    curve = eom_curve(t, np.zeros(c.shape[0]), c, vp, cp, [budget], propensity=p)
    lam = float(curve.lam[0])
    if lam == 0.0 and bool(curve.fits[0]):
        _warn_top(budget, float(curve.spend[0]), "IPW")
    return lam, curve.chosen[0].astype(np.int64)


def _inputs(
    value_pred: Any, cost_pred: Any, budget_per_capita: float, spend: str
) -> tuple[float, np.ndarray, np.ndarray]:
    """The checked budget and predictions of :func:`lambda_star` and :func:`allocate`."""
    b = check_budget_per_capita(budget_per_capita)
    if spend not in SPENDS:
        raise UsageError(f"spend: expected one of {list(SPENDS)}, got {spend!r}")
    vp, cp = _predictions(value_pred, cost_pred)
    return b, vp, cp


def lambda_star(
    value_pred: Any,
    cost_pred: Any,
    budget_per_capita: float,
    *,
    spend: Spend = "ipw",
    received: Any = None,
    cost: Any = None,
    propensity: Any = None,
) -> float:
    """λ* of the Lagrangian policy of predictions at a per-capita incremental budget.

    Parameters
    ----------
    value_pred, cost_pred:
        (N, M) predicted outcome and cost of every arm, arm 0 the control (numpy or torch).
    budget_per_capita:
        B >= 0, incremental over all-control.
    spend:
        ``"ipw"`` (default; the papers' training: the IPW realised RCT cost, needs ``received``,
        ``cost`` and optionally ``propensity``) or ``"predicted"`` (the engine's ``dual``
        multiplier on the predictions' incremental instance). See the module docstring.
    received, cost, propensity:
        (N,) arm index each unit was randomised to, its realised cost, P(received arm)
        (default: each arm's share of the sample).

    Returns
    -------
    float
        λ* >= 0; 0 with a :class:`~learners.provider.BudgetWarning` when the budget is at or
        above the spend of the λ = 0 policy.
    """
    b, vp, cp = _inputs(value_pred, cost_pred, budget_per_capita, spend)
    if spend == "predicted":
        return _predicted_lambda(vp, cp, b)
    return _ipw_lambda(vp, cp, b, received, cost, propensity)[0]


def lagrangian_argmax(value_pred: Any, cost_pred: Any, lam: float) -> np.ndarray:
    """(N,) int64 ``argmax_j (r̂_ij - λ ĉ_ij)`` by the engine's hull rule (ties: the cheaper).

    :func:`engine.dual.kernels.upper_hulls` then every hull increment with efficiency > λ.
    """
    from engine.dual.kernels import upper_hulls

    x = check_lam(lam)
    vp, cp = _predictions(value_pred, cost_pred)
    return np.asarray(upper_hulls(vp, cp, keep_value=False).choice_at(x), dtype=np.int64)


def lagrangian_argmax_torch(
    value_pred: torch.Tensor, cost_pred: torch.Tensor, lam: float
) -> torch.Tensor:
    """(B,) int64 tensor: the rule of :func:`lagrangian_argmax` in torch, on detached inputs.

    Among options of exactly equal score the cheapest, then the first; that is the engine's
    hull rule (it takes an increment only if its efficiency is strictly above λ). The two can
    differ only by rounding within a few ulps of a tie.
    """
    import torch

    x = check_lam(lam)
    with torch.no_grad():
        v, c = value_pred.detach(), cost_pred.detach()
        score = v - x * c
        best = score.amax(dim=1, keepdim=True)
        tie = score == best
        cheapest = torch.where(tie, c, torch.full_like(c, float("inf"))).amin(dim=1, keepdim=True)
        pick = tie & (c == cheapest)
        return pick.to(score.dtype).argmax(dim=1)


@dataclass(frozen=True, eq=False)
class Allocation:
    """λ* of a budget and the policy there (the hull rule at λ*)."""

    lam: float
    chosen: np.ndarray
    """(N,) int64 arm of every unit"""


def allocate(
    value_pred: Any,
    cost_pred: Any,
    budget_per_capita: float,
    *,
    spend: Spend = "ipw",
    received: Any = None,
    cost: Any = None,
    propensity: Any = None,
) -> Allocation:
    """:func:`lambda_star` and the per-unit choice at it (one λ path for the IPW spend)."""
    b, vp, cp = _inputs(value_pred, cost_pred, budget_per_capita, spend)
    if spend == "predicted":
        lam = _predicted_lambda(vp, cp, b)
        return Allocation(lam, lagrangian_argmax(vp, cp, lam))
    lam, chosen = _ipw_lambda(vp, cp, b, received, cost, propensity)
    return Allocation(lam, chosen)


def check_randomised(batch: ExperimentTensors, what: str) -> None:
    if not batch.randomised:
        raise UsageError(f"{what}: the IPW weights 1/p need randomised (RCT) data; this batch is "
                         "observational (its propensity is only the arm's share)")


def batch_lambda_star(
    value_pred: Any, cost_pred: Any, batch: ExperimentTensors, budget_per_capita: float, *,
    spend: Spend = "ipw",
) -> float:
    """:func:`lambda_star` on a mini-batch (its arms, realised costs and design propensities)."""
    if spend == "ipw":
        check_randomised(batch, "spend='ipw'")
        return lambda_star(value_pred, cost_pred, budget_per_capita, spend="ipw",
                           received=batch.arm, cost=batch.cost, propensity=batch.propensity)
    return lambda_star(value_pred, cost_pred, budget_per_capita, spend=spend)


@dataclass(eq=False)
class LambdaCache:
    """λ* of one budget held between mini-batches (a cache, so not frozen).

    A training loop calls :meth:`refresh` (e.g. once per epoch on the predictions of the whole
    RCT train split); the primal losses given ``cache=`` use :attr:`lam` on every mini-batch
    instead of searching λ* on each. With ``max_rows`` a refresh on more rows searches λ* on a
    uniform random subset of that many (a fresh subset each time, from ``seed``): the spend is
    per capita, so the subset's λ* estimates the whole split's at a fraction of the cost (about
    0.5 µs per row and arm count 5 on one CPU core; see benchmarks/bench_losses.py).
    """

    budget_per_capita: float
    spend: Spend = "ipw"
    lam: float | None = None
    max_rows: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        self.budget_per_capita = check_budget_per_capita(self.budget_per_capita)
        if self.spend not in SPENDS:
            raise UsageError(f"spend: expected one of {list(SPENDS)}, got {self.spend!r}")
        if self.max_rows is not None and (isinstance(self.max_rows, bool) or not isinstance(
                self.max_rows, int) or self.max_rows < 1):
            raise UsageError(f"max_rows: expected a positive number of rows or None, got "
                             f"{self.max_rows!r}")
        self._rng = np.random.default_rng(self.seed)

    def _rows(self, n: int) -> np.ndarray | None:
        if self.max_rows is None or n <= self.max_rows:
            return None
        return np.sort(self._rng.choice(n, size=self.max_rows, replace=False))

    def refresh(
        self, value_pred: Any, cost_pred: Any, *, received: Any = None, cost: Any = None,
        propensity: Any = None,
    ) -> float:
        """Recompute and keep λ* (arguments as :func:`lambda_star`)."""
        vp, cp = as_numpy("value_pred", value_pred), as_numpy("cost_pred", cost_pred)
        rows = self._rows(vp.shape[0])
        if rows is not None:
            def pick(a: Any) -> Any:
                if a is None:
                    return None
                arr = a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)
                return arr[rows]

            vp, cp = vp[rows], cp[rows]
            received, cost, propensity = pick(received), pick(cost), pick(propensity)
        self.lam = lambda_star(vp, cp, self.budget_per_capita, spend=self.spend,
                               received=received, cost=cost, propensity=propensity)
        return self.lam

    def refresh_batch(self, value_pred: Any, cost_pred: Any, batch: ExperimentTensors) -> float:
        """Recompute and keep λ* on ``batch`` (e.g. the whole train split as one batch)."""
        if self.spend == "ipw":
            check_randomised(batch, "spend='ipw'")
            return self.refresh(value_pred, cost_pred, received=batch.arm, cost=batch.cost,
                                propensity=batch.propensity)
        return self.refresh(value_pred, cost_pred)
