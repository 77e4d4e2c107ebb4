"""PNG plots of the evaluation results: EOM curves, AUCC cost curves, Qini / uplift curves, and
a training log.

matplotlib is imported inside each function and drawn with its Agg canvas (no display, no
pyplot state); every file is written atomically (formulations.atomic_write), so a failed plot
leaves no half-written PNG. A path that does not end in ``.png`` is a UsageError.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from formulations.atomic_write import atomic_write_with
from formulations.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

    from evaluation.aucc import AuccResult
    from evaluation.eom_curve import EomCurve, TrueCurve
    from evaluation.uplift_curves import UpliftCurve

PathLike = str | os.PathLike[str]


def _png(path: PathLike) -> Path:
    p = Path(path)
    if p.suffix.lower() != ".png":
        raise UsageError(f"path: expected a file name ending in .png, got {str(path)!r}")
    return p


def _figure(ncols: int = 1, width: float = 6.4, height: float = 4.4) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def _save(fig: Any, path: Path) -> Path:
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    return path


def _nonempty(name: str, items: Mapping[str, object]) -> None:
    if not items:
        raise UsageError(f"{name}: expected at least one named result to plot, got none")


def plot_eom_curves(
    curves: Mapping[str, EomCurve],
    path: PathLike,
    *,
    what: str = "value",
    baseline: str | None = None,
    true_curves: Mapping[str, TrueCurve] | None = None,
    title: str | None = None,
) -> Path:
    """EOM (``what`` = "value" or "uplift") vs per-capita budget for several models.

    Bootstrap intervals are drawn as bands where the curves have them. With ``baseline`` (a
    name in ``curves``) every curve is divided by the baseline's at each budget (the papers set
    the baseline to 1); bands are then left out, since the ratio's uncertainty includes the
    baseline's (use :func:`evaluation.eom_curve.paired_difference` for that). ``true_curves``
    (simulator, matched true spend) are drawn in a second panel beside, normalised the same
    way when they hold the baseline's name.
    """
    from evaluation.eom_curve import normalised

    p = _png(path)
    _nonempty("curves", curves)
    if what not in ("value", "uplift"):
        raise UsageError(f"what: expected 'value' or 'uplift', got {what!r}")
    if baseline is not None and baseline not in curves:
        raise UsageError(f"baseline: expected one of the curve names {sorted(curves)}, got "
                         f"{baseline!r}")
    panels: list[tuple[str, Mapping[str, Any]]] = [("estimated (IPW, matched spend)", curves)]
    if true_curves:
        panels.append(("true (simulator, matched true spend)", true_curves))
    fig, axes = _figure(len(panels))
    # one colour per model in both panels; curves only in the truth panel (the oracle) in grey
    palette = [f"C{i}" for i in range(10)]
    colour = {name: palette[i % 10] for i, name in enumerate(curves)}
    for ax, (label, group) in zip(axes, panels, strict=True):
        base = group.get(baseline) if baseline is not None else None
        for name, cv in group.items():
            y = getattr(normalised(cv, base) if base is not None else cv, what)
            style = ({"color": colour[name]} if name in colour
                     else {"color": "black", "linestyle": "--"})
            (line,) = ax.plot(cv.budgets, y, marker="o", markersize=3, label=name, **style)
            ci = getattr(cv, f"{what}_ci", None)
            if ci is not None and base is None:
                ax.fill_between(cv.budgets, ci[:, 0], ci[:, 1], color=line.get_color(),
                                alpha=0.2, linewidth=0)
        ylabel = f"per-capita {what}" + (f" / {baseline}" if base is not None else "")
        ax.set_xlabel("per-capita budget (incremental spend)")
        ax.set_ylabel(ylabel)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, p)


def plot_cost_curve(
    results: Mapping[str, AuccResult] | AuccResult, path: PathLike, *, title: str | None = None,
) -> Path:
    """AUCC cost curves: incremental reward vs incremental cost, with the random chord."""
    from evaluation.aucc import AuccResult

    p = _png(path)
    group = {"model": results} if isinstance(results, AuccResult) else dict(results)
    _nonempty("results", group)
    fig, axes = _figure()
    ax = axes[0]
    for name, r in group.items():
        ax.plot(r.delta_cost, r.delta_reward, label=f"{name} (AUCC {r.aucc:.4f})")
    first = next(iter(group.values()))
    ax.plot([0.0, first.total_delta_cost], [0.0, first.total_delta_reward], linestyle="--",
            color="grey", label="random ranking (AUCC ~ 0.5)")
    ax.set_xlabel("incremental cost (per group member)")
    ax.set_ylabel("incremental reward (per group member)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "cost curve (AUCC)")
    return _save(fig, p)


def plot_uplift_curves(
    curves: Mapping[str, UpliftCurve], path: PathLike, *, title: str | None = None,
) -> Path:
    """Qini or uplift curves vs the share of units targeted, with the random chord."""
    p = _png(path)
    _nonempty("curves", curves)
    kinds = {c.kind for c in curves.values()}
    if len(kinds) != 1:
        raise UsageError(f"curves: expected curves of one kind to share an axis, got "
                         f"{sorted(kinds)}")
    kind = kinds.pop()
    fig, axes = _figure()
    ax = axes[0]
    for name, c in curves.items():
        ax.plot(c.fraction, c.values, label=f"{name} (coefficient {c.coefficient:.3f})")
    first = next(iter(curves.values()))
    ax.plot([0.0, 1.0], [0.0, float(first.values[-1])], linestyle="--", color="grey",
            label="random")
    ax.set_xlabel("share of units targeted (ranked by predicted uplift)")
    ax.set_ylabel("Qini: incremental outcome" if kind == "qini" else "uplift x units targeted")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or f"{kind} curve")
    return _save(fig, p)


TRAINING_COLUMNS = ("epoch", "train_loss", "val_eom")


def plot_training_log(log: pd.DataFrame, path: PathLike, *, title: str | None = None) -> Path:
    """Training loss and validation EOM vs epoch, side by side.

    ``log`` has the columns epoch, train_loss and val_eom; any other numeric column is drawn
    too: in the loss panel when its name contains "loss", in the EOM panel otherwise.
    """
    from matplotlib.ticker import MaxNLocator

    p = _png(path)
    missing = [c for c in TRAINING_COLUMNS if c not in log.columns]
    if missing:
        raise UsageError(f"log: missing column(s) {missing}; expected {list(TRAINING_COLUMNS)} "
                         f"(and optional others), got {list(map(str, log.columns))}")
    if len(log) == 0:
        raise UsageError("log: expected at least one epoch, got an empty table")
    epoch = np.asarray(log["epoch"], dtype=np.float64)
    fig, axes = _figure(2)
    from pandas.api.types import is_numeric_dtype

    extra = [str(c) for c in log.columns if c not in TRAINING_COLUMNS
             and is_numeric_dtype(log[c])]
    loss_cols = ["train_loss", *[c for c in extra if "loss" in c]]
    eom_cols = ["val_eom", *[c for c in extra if "loss" not in c]]
    for ax, cols, ylabel in ((axes[0], loss_cols, "loss"), (axes[1], eom_cols, "validation")):
        for col in cols:
            ax.plot(epoch, np.asarray(log[col], dtype=np.float64), marker="o", markersize=3,
                    label=col)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, p)
