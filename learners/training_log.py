"""The per-epoch training log of a model folder: ``training_log.csv`` and ``training_log.png``."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from formulations.atomic_write import atomic_write_frame

LOG_CSV = "training_log.csv"
LOG_PNG = "training_log.png"


def write_training_log(log: pd.DataFrame, folder: str | os.PathLike[str], *, title: str) -> None:
    from evaluation.plots import plot_training_log

    out = Path(folder)
    atomic_write_frame(log, out / LOG_CSV)
    shown = [c for c in ("epoch", "train_loss", "val_loss", "val_eom") if c in log.columns]
    plot_training_log(log[shown], out / LOG_PNG, title=title)
