"""Arguments shared by the learner commands (fit, predict, evaluate): the data and budget grids.

DATA is a data manifest (``data.toml`` or its folder), or a bare table (.csv, .csv.gz,
.parquet) described by flags: ``--treatment``, ``--outcome``, ``--control``, ``--features`` and
optionally ``--cost`` (a column) or ``--costs ARM=COST ...``, ``--unit``, ``--propensity``,
``--kind``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from formulations.errors import UsageError

TABLE_SUFFIXES = (".csv", ".gz", ".parquet", ".pq")


def add_data_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("a bare table instead of a data manifest")
    g.add_argument("--treatment", metavar="COL", help="the column of the arm each unit received")
    g.add_argument("--outcome", metavar="COL", help="the value column")
    g.add_argument("--control", metavar="LABEL", help="the control arm's label")
    g.add_argument("--features", nargs="+", metavar="COL", help="feature columns")
    g.add_argument("--cost", metavar="COL", help="a per-row cost column")
    g.add_argument("--costs", nargs="+", metavar="ARM=COST",
                   help="fixed cost per arm where there is no cost column")
    g.add_argument("--unit", metavar="COL", help="the column of unit ids (default row numbers)")
    g.add_argument("--propensity", metavar="COL",
                   help="P(received arm | unit); RCT default: the arm's share")
    g.add_argument("--kind", choices=("rct", "observational"), default=None,
                   help="default rct")


def is_table(path: str) -> bool:
    return path.lower().endswith(TABLE_SUFFIXES)


def _read_table(path: str, unit: str | None) -> Any:
    from formulations.instance_file import read_table

    p = Path(path)
    if not p.exists():
        raise UsageError(f"{path}: no such file")
    return read_table(p, path, text_columns=(unit,) if unit else ())


def _costs(items: list[str] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items or ():
        arm, sep, raw = item.rpartition("=")
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not sep or not arm or not math.isfinite(value):
            raise UsageError(f"--costs: expected ARM=COST with a finite number, got {item!r}")
        out[arm] = value
    return out


def load_data(path: str, args: argparse.Namespace, *, flag: str = "DATA") -> Any:
    """ExperimentData from a manifest or a flagged table."""
    from formulations.experiment_data import experiment_from_frame, load_experiment

    if not is_table(path):
        _reject_table_flags(args, path)
        return load_experiment(path)
    missing = [f"--{k}" for k in ("treatment", "outcome", "control", "features")
               if not getattr(args, k, None)]
    if missing:
        raise UsageError(f"{flag} {path!r} is a bare table: give {', '.join(missing)} (or write "
                         "a data.toml manifest naming the columns)")
    df = _read_table(path, args.unit)
    return experiment_from_frame(
        df, treatment=args.treatment, outcome=args.outcome, control=args.control,
        cost=args.cost, costs=_costs(args.costs), features=args.features,
        propensity=args.propensity, kind=args.kind or "rct", unit=args.unit,
        name=Path(path).name.split(".")[0], source=path,
    )


def load_units(path: str, args: argparse.Namespace) -> Any:
    """The units and features (nothing else is needed) of a manifest or a flagged table: a
    FeatureChunks that streams a Parquet table, or a FeatureTable read whole from a CSV."""
    from formulations.experiment_data import features_from_frame, load_features
    from formulations.feature_chunks import manifest_feature_chunks, open_feature_chunks
    from formulations.instance_file import is_parquet

    if not is_table(path):
        _reject_table_flags(args, path)
        return manifest_feature_chunks(path) or load_features(path)
    if not getattr(args, "features", None):
        raise UsageError(f"DATA {path!r} is a bare table: give --features (or a data.toml)")
    if is_parquet(path) and Path(path).exists():
        return open_feature_chunks(path, features=args.features, unit=args.unit,
                                   name=Path(path).name.split(".")[0])
    df = _read_table(path, args.unit)
    return features_from_frame(df, features=args.features, unit=args.unit,
                               name=Path(path).name.split(".")[0], source=path)


def _reject_table_flags(args: argparse.Namespace, path: str) -> None:
    used = [f"--{k}" for k in ("treatment", "outcome", "control", "features", "cost", "costs",
                               "unit", "propensity", "kind")
            if getattr(args, k, None) not in (None, [], ())]
    if used:
        raise UsageError(f"{used[0]}: only for a bare table; {path!r} is a manifest, which names "
                         "its columns itself")


def check_output_dir(path: str, flag: str, *, force: bool) -> None:
    """Refuse, before any work, a folder that exists and is not empty (without --force), or
    that cannot be written (treatalloc.outputs)."""
    from treatalloc.outputs import check_folder

    p = Path(path)
    if p.is_dir() and any(p.iterdir()) and not force:
        raise UsageError(f"{flag} {path!r}: already exists and is not empty; give another "
                         "folder or --force to replace it")
    check_folder(p, flag)
