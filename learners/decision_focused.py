"""Decision-focused training (DFCL, and Bi-DFCL's primal losses on RCT data alone).

The network is TSM-SL's (learners/networks.py MultiHeadMLP: the same predictions of every arm's
outcome and cost, so the result is an ordinary parameter provider), trained on

    L = L_decision + alpha x L_PL

(papers.md §4.2, ``--pl-weight`` = alpha; L_PL the unbiased prediction loss with the project's
target scales) where L_decision is one of

* dual, over a set of multipliers Λ (``--lambdas``; DFCL, papers.md §4.2-4.3): ``dfcl-pl``
  (PLLoss), ``dfcl-mer`` (MERLoss, temperature ``--tau``), ``dfcl-ifd`` (IFDLoss, the
  Lagrangian-duality finite-difference estimator, perturbations clipped at h);
* primal, at the λ* of the actual per-capita budget (``--budget``; Bi-DFCL on RCT alone,
  papers.md §1.4): ``dfcl-ppl`` (PPLLoss), ``dfcl-pifd`` (PIFDLoss, Algorithm 3).

λ* of the primal losses comes from the engine through learners.oracle: a LambdaCache refreshed
before every epoch on (a random subset of at most ``lambda_rows`` of) the training split, with
the IPW spend by default, as the papers train (the cost of one search over a whole 10^6-row split
is about an epoch of the prediction loss; see docs/losses.md). Early stopping uses the
validation EOM at the target budget for primal methods, and its mean over the validation budget
grid for dual methods. ``--init MODEL_DIR`` warm-starts from a fitted two-stage model (its
feature schema, target scales and weights), as the papers fine-tune a pre-trained TSM.

The decision loss trains the outcome heads only by default (``cost_gradient=False``, as the
authors' IFD code uses only the r̂ gradient): the decision depends on r̂ - λĉ alone, so a decision
loss can lower ĉ instead of raising r̂, and deployment then spends from those costs. Measured on
the simulator (``plentiful``, 10,000 training users, PPL and PIFD at alpha 1 fine-tuned from
TSM-SL), letting it train ĉ made the deployed allocation spend about 3x its budget; with the
costs left to the prediction loss they stay calibrated. ``cost_gradient=True`` is the papers'
form (the ``scarce`` ablation in benchmarks/README.md, 3 seeds: deployed spend 1.14x the budget
against 0.86x, capture 0.843 against 0.856: a milder effect than in that first run).

The finite-difference losses clip their perturbations (``clip="fix"``: only perturbations
smaller than h count, set to ±h), as the authors' IFD code does; Algorithm 3 of Bi-DFCL (PIFD)
has no clipping, and without it the 1/margin gradients of the few units nearest their decision
boundary dominated every step (measured: PIFD fine-tuned from TSM-SL lost half of TSM-SL's
uplift at its budget without clipping, and matched it with clipping; in the ``scarce``
ablation of benchmarks/README.md, 3 seeds: capture 0.817 unclipped against 0.871 clipped).

Scale-dependent defaults, in the data's units: the temperature τ defaults to 0.1 training
standard deviations of the outcome, and IFD's clipping bound h to 0.3 of them (the authors'
code uses h = 0.3 on CRITEO's 0/1 outcomes, whose standard deviation is below 1).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from formulations.errors import UsageError
from formulations.experiment_data import ExperimentData
from learners.training import TrainingOptions

DUAL_METHODS: tuple[str, ...] = ("dfcl-pl", "dfcl-mer", "dfcl-ifd")
PRIMAL_METHODS: tuple[str, ...] = ("dfcl-ppl", "dfcl-pifd")
DFCL_METHODS = DUAL_METHODS + PRIMAL_METHODS
DEFAULT_TAU_SCALE = 0.1
DEFAULT_H_SCALE = 0.3
LAMBDA_ROWS = 50_000


@dataclass(frozen=True)
class DecisionSpec:
    """The decision-focused knobs (checked in :func:`check_decision_spec`)."""

    pl_weight: float = 1.0
    tau: float | None = None
    lambdas: tuple[float, ...] | None = None
    budget: float | None = None
    """per-capita incremental budget of the primal methods"""
    init: str | None = None
    """a two-stage model folder to warm-start from"""
    spend: str = "ipw"
    lambda_rows: int = LAMBDA_ROWS
    cost_gradient: bool = False
    """whether the decision loss also trains the cost heads (see the module docstring)"""
    clip: str | None = "fix"
    """finite-difference clipping of dfcl-ifd / dfcl-pifd: "fix" (bound h) or None"""


def check_decision_spec(method: str, spec: DecisionSpec) -> None:
    """Bad input of the decision-focused flags: one error naming the flag."""
    dual, primal = method in DUAL_METHODS, method in PRIMAL_METHODS
    if method == "dhcl" and (spec.lambdas is not None or spec.budget is not None):
        raise UsageError("--lambdas / --budget: dhcl learns decision factors for every budget; "
                         "give neither")
    if dual and spec.lambdas is None:
        raise UsageError(f"--lambdas: {method} is a dual method (DFCL: a loss summed over a set "
                         "of multipliers); give --lambdas L1,L2,..." + (
                             ", not --budget (that is for dfcl-ppl / dfcl-pifd)"
                             if spec.budget is not None else ""))
    if dual and spec.budget is not None:
        raise UsageError(f"--budget: {method} is a dual method; give --lambdas only")
    if primal and spec.budget is None:
        raise UsageError(f"--budget: {method} is a primal method (trained at the λ* of one "
                         "per-capita budget); give --budget B" + (
                             ", not --lambdas (that is for dfcl-pl / dfcl-mer / dfcl-ifd)"
                             if spec.lambdas is not None else ""))
    if primal and spec.lambdas is not None:
        raise UsageError(f"--lambdas: {method} is a primal method; give --budget only")
    if spec.lambdas is not None:
        if len(spec.lambdas) == 0:
            raise UsageError("--lambdas: expected at least one multiplier, got an empty set")
        bad = [x for x in spec.lambdas if not (math.isfinite(x) and x >= 0)]
        if bad:
            raise UsageError(f"--lambdas: expected finite multipliers >= 0, got {bad[0]!r}")
    if spec.budget is not None and not (math.isfinite(spec.budget) and spec.budget >= 0):
        raise UsageError(f"--budget: expected a per-capita incremental budget >= 0 (the "
                         f"all-control spend is 0), got {spec.budget!r}")
    if spec.tau is not None and not (math.isfinite(spec.tau) and spec.tau > 0):
        raise UsageError(f"--tau: expected a temperature > 0, got {spec.tau!r}")
    if not (math.isfinite(spec.pl_weight) and spec.pl_weight >= 0):
        raise UsageError(f"--pl-weight: expected a weight >= 0 (the papers' alpha), got "
                         f"{spec.pl_weight!r}")
    if spec.spend not in ("ipw", "predicted"):
        raise UsageError(f"spend: expected 'ipw' or 'predicted', got {spec.spend!r}")


def warn_top_budget(budget: float, train: ExperimentData) -> None:
    from learners.provider import BudgetWarning
    from learners.validation import max_spend_per_capita

    top = max_spend_per_capita(train)
    if budget >= top:
        warnings.warn(f"--budget {budget:.6g} is at least the all-max spend per capita of the "
                      f"training data ({top:.6g}): every unit gets its top arm, so the decision "
                      "loss has nothing to trade off", BudgetWarning, stacklevel=3)


def start_provider(
    method: str, train: ExperimentData, spec: DecisionSpec, *, hidden: Sequence[int] | None,
    seed: int, device: str,
) -> Any:
    """A fresh TSM-SL-shaped provider, or the --init model's network to fine-tune."""
    from learners.saved import load_model
    from learners.two_stage import TorchProvider, build_provider

    if spec.init is None:
        p = build_provider("tsm-sl", train, hidden=hidden, seed=seed, device=device)
        p.method = method
        return p
    init = load_model(spec.init)
    if not isinstance(init, TorchProvider) or init.method != "tsm-sl":
        raise UsageError(f"--init {spec.init!r}: expected a tsm-sl model folder (the network "
                         f"to fine-tune), got method {getattr(init, 'method', '?')!r}")
    if tuple(init.arms) != tuple(train.arms):
        raise UsageError(f"--init {spec.init!r}: the model's arms {list(init.arms)} differ from "
                         f"the data's {list(train.arms)}")
    if hidden is not None and tuple(hidden) != tuple(init.hidden):
        raise UsageError(f"--hidden: the --init model has trunk {list(init.hidden)}; leave "
                         "--hidden out when warm-starting")
    init.schema.encode(train.subset(np.arange(min(train.n_units, 10))))  # same features?
    init.method = method
    init.device = device
    init.training = {}
    init.training_log = None
    return init


def decision_loss(method: str, spec: DecisionSpec, provider: Any, cache: Any) -> Any:
    """The decision term of ``method`` (its λ set, temperature and clipping resolved)."""
    from learners.losses import IFDLoss, MERLoss, PIFDLoss, PLLoss, PPLLoss

    fixed = provider.fixed_costs if provider.network.predict_cost is False else None
    tau = spec.tau if spec.tau is not None else DEFAULT_TAU_SCALE * provider.outcome_scale
    h = DEFAULT_H_SCALE * provider.outcome_scale
    lams = list(spec.lambdas or ())
    if method == "dfcl-pl":
        return PLLoss(lams, fixed_costs=fixed), {"lambdas": lams}
    if method == "dfcl-mer":
        return MERLoss(lams, tau=tau, fixed_costs=fixed), {"lambdas": lams, "tau": tau}
    if method == "dfcl-ifd":
        return (IFDLoss(lams, clip=spec.clip, h=h, fixed_costs=fixed),
                {"lambdas": lams, "clip": spec.clip or "none", "h": h})
    if method == "dfcl-ppl":
        return PPLLoss(cache=cache, tau=tau, fixed_costs=fixed), {"tau": tau}
    return (PIFDLoss(cache=cache, tau=tau, clip=spec.clip, h=h, fixed_costs=fixed),
            {"tau": tau, "clip": spec.clip or "none", "h": h})


def fit_decision_focused(
    train: ExperimentData,
    *,
    method: str,
    validation: ExperimentData,
    options: TrainingOptions,
    spec: DecisionSpec,
    hidden: Sequence[int] | None = None,
    budgets: np.ndarray | None = None,
    on_epoch: Callable[[Mapping[str, float]], None] | None = None,
) -> Any:
    """Fit a DFCL method (module docstring); returns the provider with its training summary."""
    import torch

    from learners.losses import CombinedLoss, LambdaCache, PredictionLoss
    from learners.tensors import experiment_tensors
    from learners.two_stage import data_summary, run_training, training_summary
    from learners.validation import make_validation

    if method not in DFCL_METHODS:
        raise UsageError(f"method: expected one of {list(DFCL_METHODS)}, got {method!r}")
    check_decision_spec(method, spec)
    for d, what in ((train, "training"), (validation, "validation")):
        if d.kind != "rct":
            raise UsageError(f"{d.source}: {method} needs randomised {what} data (its decision "
                             "loss weights units by 1/P(arm)); this data is observational")
    if spec.budget is not None:
        warn_top_budget(spec.budget, train)
    provider = start_provider(method, train, spec, hidden=hidden, seed=options.seed,
                              device=options.device)
    cols = provider.arm_index(validation)
    tt = experiment_tensors(train, provider.schema, device=options.device)
    vt = experiment_tensors(validation, provider.schema, device=options.device, columns=cols)
    if method in PRIMAL_METHODS:
        assert spec.budget is not None
        val = make_validation(validation, np.array([spec.budget]), model_arms=provider.arms)
    else:
        val = make_validation(validation, budgets, model_arms=provider.arms)
    cache = None
    before_epoch = None
    if method in PRIMAL_METHODS:
        assert spec.budget is not None
        cache = LambdaCache(spec.budget, spend=spec.spend)  # type: ignore[arg-type]
        rng = np.random.default_rng([options.seed, 7])

        def before_epoch(epoch: int) -> None:
            n = tt.n_units
            rows = (torch.arange(n) if n <= spec.lambda_rows else
                    torch.from_numpy(np.sort(rng.choice(n, spec.lambda_rows, replace=False))))
            sub = tt.take(rows.to(options.device))
            provider.network.eval()
            with torch.no_grad():
                v, c = provider.network(sub.x)
            cache.refresh_batch(v, c if c is not None else torch.as_tensor(
                np.broadcast_to(provider.fixed_costs, tuple(v.shape)).copy()), sub)

    decision, resolved = decision_loss(method, spec, provider, cache)
    if not spec.cost_gradient:
        decision = _ValueOnly(decision)
    prediction = PredictionLoss(provider.outcome_scale, provider.cost_scale)
    loss = CombinedLoss(decision, spec.pl_weight, prediction)
    result = run_training(provider, loss, tt, vt, val, options, on_epoch=on_epoch,
                          val_loss=prediction, before_epoch=before_epoch)
    provider.hyperparameters.update(
        pl_weight=spec.pl_weight, spend=spec.spend, init=spec.init, lambda_rows=spec.lambda_rows,
        cost_gradient=spec.cost_gradient,
        **({"budget": spec.budget} if spec.budget is not None else {}), **resolved)
    provider.training = {**data_summary(train, validation), **training_summary(result),
                         "val_loss": "prediction loss"}
    if cache is not None and cache.lam is not None:
        provider.training["last_lambda_star"] = cache.lam
    provider.training_log = result.log
    return provider


def _ValueOnly(decision: Any) -> Any:
    """The decision loss with the cost predictions detached (it trains r̂ only)."""
    from torch import nn

    class ValueOnly(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = decision

        def forward(self, value_pred: Any, cost_pred: Any, batch: Any) -> Any:
            return self.inner(value_pred, None if cost_pred is None else cost_pred.detach(),
                              batch)

    return ValueOnly()
