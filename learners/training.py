"""The training loop every torch learner shares: Adam on mini-batches, early stopping on
validation EOM, a seed that makes a CPU run reproducible, progress and a per-epoch log.

One epoch is one pass over a seeded permutation of the training rows in mini-batches; after
each epoch the model predicts the validation data and is scored (learners/validation.py); the
best state is kept and training stops after ``patience`` epochs without improvement. The first
``warmup`` epochs are not candidates: on a small validation set the EOM of a barely trained
model is noise, and it can beat every trained one by luck (the papers warm-start too: 20
epochs in DFCL's CRITEO runs and in Bi-DFCL). The log has one row per epoch: ``epoch,
train_loss, val_loss, val_eom, val_score, val_seconds, hook_seconds, seconds, samples_per_s``
(``val_eom`` is the mean validation EOM, NaN where the validation data is observational;
``val_score`` the selection score: the EOM, or else minus the validation loss; ``val_seconds``
the part of the epoch spent on validation, ``hook_seconds`` the part spent before the epoch's
first step, e.g. refreshing a cached λ*).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from formulations.errors import UsageError

if TYPE_CHECKING:
    import torch

    from learners.tensors import ExperimentTensors
    from learners.validation import Validation

Loss = Callable[["torch.Tensor", "torch.Tensor | None", "ExperimentTensors"], "torch.Tensor"]
"""(value_pred (B, M), cost_pred (B, M) or None, batch) -> scalar loss (scaled units)."""

DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class TrainingOptions:
    """Hyperparameters of the loop (frozen: the same options give the same run)."""

    epochs: int = 100
    batch_size: int | None = None
    """None: N / 100 clipped to [256, 4096] (at least 100 steps per epoch up to 409,600 rows)"""
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 10
    warmup: int = 5
    """epochs trained before a checkpoint may be selected (at most ``epochs``)"""
    seed: int = 0
    device: str = "cpu"
    progress: bool = False

    def __post_init__(self) -> None:
        for name in ("epochs", "patience"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise UsageError(f"{name}: expected a positive integer, got {v!r}")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            raise UsageError(f"warmup: expected an integer >= 0, got {self.warmup!r}")
        if self.batch_size is not None and (not isinstance(self.batch_size, int)
                                            or self.batch_size < 1):
            raise UsageError(f"batch_size: expected a positive integer, got {self.batch_size!r}")
        if not (isinstance(self.lr, int | float) and self.lr > 0):
            raise UsageError(f"lr: expected a positive learning rate, got {self.lr!r}")
        if not (isinstance(self.weight_decay, int | float) and self.weight_decay >= 0):
            raise UsageError(f"weight_decay: expected >= 0, got {self.weight_decay!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise UsageError(f"seed: expected a non-negative integer, got {self.seed!r}")
        if self.device not in DEVICES:
            raise UsageError(f"device: expected one of {list(DEVICES)}, got {self.device!r}")

    def resolved_batch(self, n: int) -> int:
        if self.batch_size is not None:
            return min(self.batch_size, n)
        return int(min(n, max(256, min(4096, n // 100))))


@dataclass(frozen=True, eq=False)
class TrainingResult:
    log: pd.DataFrame
    best_epoch: int
    best_score: float
    epochs_run: int
    seconds: float
    samples_per_s: float
    score_kind: str
    """'eom' (mean validation EOM) or 'loss' (minus validation prediction loss)"""
    extra: dict[str, Any] = field(default_factory=dict)


def check_device(device: str) -> None:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available here (torch "
                         f"{torch.__version__}); use --device cpu")


def seed_everything(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


def train(
    model: torch.nn.Module,
    loss: Loss,
    train_data: ExperimentTensors,
    *,
    options: TrainingOptions,
    validation: Validation | None,
    val_tensors: ExperimentTensors | None,
    predict: Callable[[torch.Tensor, torch.Tensor | None], tuple[np.ndarray, np.ndarray]],
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    val_loss: Loss | None = None,
    before_epoch: Callable[[int], None] | None = None,
) -> TrainingResult:
    """Train ``model`` in place and leave it at its best validation state.

    ``predict(out1, out2)`` maps the network's outputs on the validation features to numpy
    predictions (outcome, cost) (N, M) for the validation score. ``val_loss`` (default ``loss``)
    is logged as ``val_loss``; ``before_epoch(epoch)`` runs before every epoch (e.g. to refresh
    a cached λ*).
    """
    import torch

    from learners.validation import eom_score

    check_device(options.device)
    model.to(options.device)
    opt = torch.optim.Adam(model.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    gen = torch.Generator().manual_seed(options.seed)
    n = train_data.n_units
    bs = options.resolved_batch(n)
    by_eom = validation is not None and validation.by_eom
    best_score, best_epoch, best_state = -np.inf, 0, copy.deepcopy(model.state_dict())
    rows: list[dict[str, float]] = []
    start = time.perf_counter()
    samples = 0
    epoch = 0
    for epoch in range(1, options.epochs + 1):
        t0 = time.perf_counter()
        if before_epoch is not None:
            before_epoch(epoch)
        hook_seconds = time.perf_counter() - t0
        model.train()
        perm = torch.randperm(n, generator=gen).to(options.device)
        total, count = 0.0, 0
        for s in range(0, n, bs):
            batch = train_data.take(perm[s:s + bs])
            value, cost = model(batch.x)
            out = loss(value, cost, batch)
            opt.zero_grad(set_to_none=True)
            out.backward()
            opt.step()
            total += float(out.detach()) * batch.n_units
            count += batch.n_units
        samples += n
        row: dict[str, float] = {"epoch": float(epoch), "train_loss": total / max(count, 1)}
        tv = time.perf_counter()
        if val_tensors is not None:
            model.eval()
            with torch.no_grad():
                v, c = model(val_tensors.x)
                row["val_loss"] = float((val_loss or loss)(v, c, val_tensors))
            if by_eom:
                assert validation is not None
                vp, cp = predict(v, c)
                score = eom_score(vp, cp, validation)
            else:
                score = -row["val_loss"]
        else:
            score = -row["train_loss"]
        row["val_eom"] = score if by_eom else float("nan")
        row["val_score"] = score
        row["val_seconds"] = time.perf_counter() - tv
        row["hook_seconds"] = hook_seconds
        row["seconds"] = time.perf_counter() - t0
        row["samples_per_s"] = n / row["seconds"]
        rows.append(row)
        if on_epoch is not None:
            on_epoch(row)
        eligible = epoch > min(options.warmup, options.epochs - 1)
        if eligible and score > best_score:
            best_score, best_epoch = score, epoch
            best_state = copy.deepcopy(model.state_dict())
        elif eligible and epoch - max(best_epoch, options.warmup) >= options.patience:
            break
    model.load_state_dict(best_state)
    model.eval()
    seconds = time.perf_counter() - start
    return TrainingResult(
        log=pd.DataFrame(rows), best_epoch=best_epoch, best_score=float(best_score),
        epochs_run=epoch, seconds=seconds, samples_per_s=samples / max(seconds, 1e-12),
        score_kind="eom" if by_eom else "loss",
    )
