"""Two-stage methods (TSM): predict every arm's outcome and cost, then let the engine decide.

``tsm-sl``: the multi-head MLP S-learner of the papers (papers.md §1.8, §4.4, "TSM-SL");
``t-learner``: one MLP per arm. Both train on the unbiased RCT prediction loss
(learners/losses/prediction.py) with Adam on mini-batches and early stopping on validation
EOM (learners/training.py), and both are parameter providers (learners/provider.py).

The network works in units of the targets' training standard deviations and outputs the data's
units (learners/networks.py). On an observational log the loss weights are inverse propensities
1 / (M P(arm | x)) instead of inverse arm shares (the log's propensity column, or an estimate by
logistic regression, learners/propensity.py; the training summary says which).

Where an arm's cost is known (a ``[costs]`` table, e.g. an e-mail's price, or an arm whose
every training row costs the same, e.g. a control that costs nothing) it is not learned:
``predict`` returns that cost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from formulations.errors import UsageError
from formulations.experiment_data import ExperimentData
from learners.features import FeatureSchema
from learners.known_costs import all_fixed, cost_floor, fixed_arm_costs
from learners.provider import Data, ProviderBase
from learners.training import TrainingOptions, TrainingResult

if TYPE_CHECKING:
    import torch

PREDICT_CHUNK = 262_144
"""rows per forward pass at prediction time (bounds memory at any N)"""


@dataclass(eq=False)
class TorchProvider(ProviderBase):
    """A trained torch network with its feature schema and target scales."""

    method: str
    arms: tuple[str, ...]
    schema: FeatureSchema
    network: torch.nn.Module
    hidden: tuple[int, ...]
    outcome_scale: float = 1.0
    cost_scale: float = 1.0
    fixed_costs: np.ndarray | None = None
    """(M,) known per-arm costs (NaN where learned), or None (learners/two_stage.py)"""
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    device: str = "cpu"
    training_log: Any = None
    """the per-epoch log (a DataFrame) of the fit that made this provider, if any"""

    def from_outputs(
        self, out: torch.Tensor, cost: torch.Tensor | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """float64 numpy (outcome, cost) (N, M) from the network's outputs."""
        value = out.detach().double().cpu().numpy()
        if cost is None:
            assert self.fixed_costs is not None and all_fixed(self.fixed_costs)
            return value, np.broadcast_to(self.fixed_costs, value.shape).copy()
        return value, cost.detach().double().cpu().numpy()

    def predict_encoded(self, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """float64 (outcome, cost) (N, M) of an encoded feature tensor, in chunks."""
        import torch

        self.network.eval()
        outs_v, outs_c = [], []
        with torch.no_grad():
            for s in range(0, x.shape[0], PREDICT_CHUNK):
                v, c = self.from_outputs(*self.network(x[s:s + PREDICT_CHUNK].to(self.device)))
                outs_v.append(v)
                outs_c.append(c)
        return np.concatenate(outs_v), np.concatenate(outs_c)

    def predict(self, data: Data) -> tuple[np.ndarray, np.ndarray]:
        import torch

        if isinstance(data, ExperimentData):
            self.arm_index(data)
        return self.predict_encoded(torch.from_numpy(self.schema.encode(data)))


def _scale(x: np.ndarray) -> float:
    sd = float(np.std(x))
    return sd if sd > 1e-12 else 1.0


def build_provider(
    method: str,
    train: ExperimentData,
    *,
    hidden: Sequence[int] | None,
    seed: int,
    device: str = "cpu",
    network_factory: Callable[..., torch.nn.Module] | None = None,
) -> TorchProvider:
    """An untrained provider for ``train``: its schema, scales and a freshly seeded network."""
    from learners.networks import NETWORKS, default_hidden
    from learners.training import seed_everything

    schema = FeatureSchema.fit(train.features)
    h = tuple(hidden) if hidden else default_hidden(schema.width)
    if any(not isinstance(x, int) or x < 1 for x in h):
        raise UsageError(f"hidden: expected positive layer widths, got {list(h)}")
    fixed = fixed_arm_costs(train)
    seed_everything(seed)
    factory = network_factory or NETWORKS[method]
    outcome_scale = _scale(train.outcome)
    cost_scale = 1.0 if all_fixed(fixed) else _scale(train.cost)
    net = factory(schema.width, train.n_arms, h, predict_cost=not all_fixed(fixed),
                  outcome_scale=outcome_scale, cost_scale=cost_scale, fixed_costs=fixed,
                  cost_floor=cost_floor(train))
    return TorchProvider(method=method, arms=train.arms, schema=schema, network=net, hidden=h,
                         outcome_scale=outcome_scale, cost_scale=cost_scale, fixed_costs=fixed,
                         seed=seed, device=device)


def data_summary(train: ExperimentData, validation: ExperimentData | None) -> dict[str, Any]:
    out: dict[str, Any] = {"data": train.name, "rows": train.n_units, "kind": train.kind}
    if validation is not None:
        out.update(validation=validation.name, validation_rows=validation.n_units)
    return out


def fit_two_stage(
    train: ExperimentData,
    *,
    method: str = "tsm-sl",
    validation: ExperimentData | None = None,
    options: TrainingOptions | None = None,
    hidden: Sequence[int] | None = None,
    budgets: np.ndarray | None = None,
    on_epoch: Callable[[Mapping[str, float]], None] | None = None,
) -> tuple[TorchProvider, TrainingResult]:
    """Fit ``tsm-sl`` or ``t-learner`` on ``train``; early-stop on ``validation`` (default: a
    held-out 20% of ``train``, learners/validation.py)."""
    from learners.losses.prediction import PredictionLoss
    from learners.networks import NETWORKS
    from learners.tensors import experiment_tensors
    from learners.validation import holdout_split, make_validation

    if method not in NETWORKS:
        raise UsageError(f"method: expected one of {sorted(NETWORKS)}, got {method!r}")
    opts = options or TrainingOptions()
    if validation is None:
        train, validation = holdout_split(train, seed=opts.seed)
    provider = build_provider(method, train, hidden=hidden, seed=opts.seed, device=opts.device)
    cols = provider.arm_index(validation)
    weighting: dict[str, Any] = {}
    wp = None
    if train.kind == "observational":
        # arm shares do not undo a logging policy's confounding: weight by 1 / P(arm | x)
        if train.propensity is not None:
            wp, weighting = train.propensity, {"weights": "inverse propensity (given)"}
        else:
            from learners.propensity import estimate_propensity

            est = estimate_propensity(train, provider.schema, seed=opts.seed)
            wp = est.propensity
            weighting = {"weights": f"inverse propensity (estimated: {est.method}, clipped at "
                                    f"0.01 for {est.clipped} units)"}
    tt = experiment_tensors(train, provider.schema, device=opts.device, weight_propensity=wp)
    vt = experiment_tensors(validation, provider.schema, device=opts.device, columns=cols)
    val = make_validation(validation, budgets, model_arms=provider.arms)
    loss = PredictionLoss(provider.outcome_scale, provider.cost_scale)
    result = run_training(provider, loss, tt, vt, val, opts, on_epoch=on_epoch)
    provider.training = {**data_summary(train, validation), **training_summary(result),
                         **weighting}
    provider.training_log = result.log
    return provider, result


def run_training(
    provider: TorchProvider,
    loss: Any,
    tt: Any,
    vt: Any,
    val: Any,
    opts: TrainingOptions,
    *,
    on_epoch: Callable[[Mapping[str, float]], None] | None = None,
    val_loss: Any = None,
    before_epoch: Callable[[int], None] | None = None,
) -> TrainingResult:
    """Train the provider's network with ``loss`` (shared by every torch method)."""
    from learners.training import train as train_loop

    result = train_loop(provider.network, loss, tt, options=opts, validation=val,
                        val_tensors=vt, predict=provider.from_outputs, on_epoch=on_epoch,
                        val_loss=val_loss, before_epoch=before_epoch)
    provider.hyperparameters = {
        "hidden": list(provider.hidden), "epochs": opts.epochs,
        "batch_size": opts.resolved_batch(tt.n_units), "lr": opts.lr,
        "weight_decay": opts.weight_decay, "patience": opts.patience, "warmup": opts.warmup,
        "validation_budgets": [float(b) for b in val.budgets],
    }
    return result


def training_summary(result: TrainingResult) -> dict[str, Any]:
    return {
        "best_epoch": result.best_epoch, "best_score": result.best_score,
        "score": result.score_kind, "epochs_run": result.epochs_run,
        "seconds": round(result.seconds, 3), "samples_per_s": round(result.samples_per_s, 1),
    }
