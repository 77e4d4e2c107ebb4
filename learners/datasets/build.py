"""Clean one dataset, add the design propensity, split it, and write it into the cache.

Order matters for "bad input writes nothing": the arguments, the data root and the output
folder are checked first, then the raw files are read and cleaned, and only then is anything
written. Everything goes into a hidden folder beside the target, which replaces
``<out>/<dataset>/`` as a whole at the end, so a failed run leaves the previous folder (or none).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from formulations.errors import InstanceError, UsageError
from formulations.experiment_data import MANIFEST, write_experiment
from learners.datasets.cleaned import Cleaned
from learners.datasets.locations import cache_dir, check_writable, data_root
from learners.datasets.prepared import REPORT, ArmStats, Prepared
from learners.datasets.raw import Checksum, raw_path, sha256_file
from learners.datasets.splits import SPLITS, check_fractions, stratified_split

PROPENSITY = "propensity"
SPLIT = "split"
"""Column of the ``all`` table naming the split each unit was put in."""
TABLE_FORMATS = ("csv", "parquet")


def prepare_dataset(
    module: ModuleType,
    root: str | os.PathLike[str] | None,
    out: str | os.PathLike[str] | None = None,
    *,
    seed: int = 0,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    table_format: str = "csv",
    root_flag: str = "data_root",
    out_flag: str = "out",
    split_flag: str = "fractions",
) -> Prepared:
    """Prepare the dataset a loader module describes (``NAME``, ``RAW``, ``clean(root)``).

    The ``*_flag`` arguments name the parameters in error messages (the CLI passes its flags).
    """
    name: str = module.NAME
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise UsageError(f"seed: expected an integer, got {seed!r}")
    fr = check_fractions(fractions, what=split_flag)
    if table_format not in TABLE_FORMATS:
        raise UsageError(f"table_format: expected one of {list(TABLE_FORMATS)}, "
                         f"got {table_format!r}")
    base = data_root(root, what=root_flag)
    cache = cache_dir(out)
    target = cache / name
    check_writable(cache, what=out_flag)
    _check_replaceable(target, out_flag)
    for raw in module.RAW:
        raw_path(base, raw, name)

    cleaned: Cleaned = module.clean(base)
    checksums = tuple(
        Checksum(raw.path, sha256_file(base / raw.path), raw.sha256) for raw in module.RAW
    )
    notes = list(cleaned.notes)
    for chk in checksums:
        if not chk.matches:
            notes.append(
                f"{base / chk.path}: sha256 {chk.sha256} differs from the {chk.expected} "
                "recorded in SOURCE.md; the file is not the copy these loaders were checked on"
            )
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=2)

    frame = cleaned.frame
    arms = cleaned.arms
    arm = pd.Categorical(frame[cleaned.treatment], categories=list(arms)).codes.astype(np.int64)
    counts = np.bincount(arm, minlength=len(arms))
    if not counts.all():
        absent = arms[int(np.flatnonzero(counts == 0)[0])]
        raise InstanceError(
            ", ".join(str(base / raw.path) for raw in module.RAW), "",
            f"after cleaning no unit received the arm {absent!r}; expected units in every arm "
            f"of {list(arms)}",
        )
    share = counts / arm.size
    split = _split(arm, fr, seed, cleaned.fixed_test)
    split_counts: dict[str, dict[str, int]] = {"all": dict(zip(arms, map(int, counts),
                                                              strict=True))}
    for k, s in enumerate(SPLITS):
        in_split = np.bincount(arm[split == k], minlength=len(arms))
        empty = [a for a, n in zip(arms, in_split, strict=True) if n == 0]
        if empty:
            raise UsageError(
                f"{split_flag} {list(fr)}: the {s} split would hold no unit of arm "
                f"{empty[0]!r} ({int(counts[arms.index(empty[0])])} units in the data); "
                "give that split a larger fraction"
            )
        split_counts[s] = dict(zip(arms, map(int, in_split), strict=True))

    value, cost = _value_cost(frame, cleaned.manifest, arms, arm)
    stats = {
        a: ArmStats(rows=int(counts[j]), propensity=float(share[j]),
                    mean_value=float(value[arm == j].mean()),
                    mean_cost=float(cost[arm == j].mean()))
        for j, a in enumerate(arms)
    }
    table = frame.assign(**{PROPENSITY: share[arm]})
    manifest = {**dict(cleaned.manifest), "kind": "rct", "propensity": PROPENSITY}

    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=cache))
    except OSError as e:
        raise UsageError(f"{out_flag} {str(cache)!r}: cannot write there ({e.strerror or e})"
                         ) from None
    try:
        # mkdtemp makes a private folder; the result should get the usual umask-derived mode
        os.chmod(tmp, 0o777 & ~_umask())
        _write(tmp, "all", table.assign(**{SPLIT: np.asarray(SPLITS)[split]}), manifest, name,
               table_format)
        for k, s in enumerate(SPLITS):
            part = table.loc[split == k].reset_index(drop=True)
            _write(tmp, s, part, manifest, name, table_format)
        prepared = Prepared(
            name=name, folder=target,
            manifests={s: target / s / MANIFEST for s in ("all", *SPLITS)},
            report=target / REPORT, arms=arms, rows_read=dict(cleaned.rows_read),
            rows=int(arm.size), dropped=dict(cleaned.dropped), arm_stats=stats,
            split_counts=split_counts, seed=int(seed), fractions=fr,
            test_split="random" if cleaned.fixed_test is None else module.FIXED_TEST,
            table_format=table_format, checksums=checksums, warnings=tuple(notes),
        )
        (tmp / REPORT).write_text(prepared.to_toml(), encoding="utf-8")
        _swap_in(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return prepared


def _check_replaceable(target: Path, out_flag: str) -> None:
    """Only a folder this module wrote (it holds prepared.toml) or an empty one is replaced."""
    if target.exists() and not target.is_dir():
        raise UsageError(f"{out_flag}: {str(target)!r} exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not (target / REPORT).is_file():
        raise UsageError(
            f"{out_flag}: {str(target)!r} exists and was not written by treatalloc dataset (no "
            f"{REPORT}); move it away or choose another output folder"
        )


def _split(
    arm: np.ndarray, fr: tuple[float, ...], seed: int, fixed_test: np.ndarray | None,
) -> np.ndarray:
    if fixed_test is None:
        return stratified_split(arm, fr, seed)
    # the source fixes the test rows: train / validation share the rest in their ratio
    test = np.asarray(fixed_test, dtype=bool)
    pool = np.flatnonzero(~test)
    train = fr[0] / (fr[0] + fr[1])
    split = np.full(arm.size, 2, dtype=np.int64)
    split[pool] = stratified_split(arm[pool], (train, 1.0 - train, 0.0), seed)
    return split


def _value_cost(
    frame: pd.DataFrame, manifest: Mapping[str, Any], arms: tuple[str, ...], arm: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    value = frame[manifest["outcome"]].to_numpy(np.float64)
    if "cost" in manifest:
        cost = frame[manifest["cost"]].to_numpy(np.float64)
    else:
        fixed = manifest.get("costs", {})
        cost = np.array([float(fixed.get(a, 0.0)) for a in arms])[arm]
    return value, cost


def _write(
    tmp: Path, split: str, frame: pd.DataFrame, manifest: dict[str, Any], name: str,
    table_format: str,
) -> None:
    body = {**manifest, "name": f"{name}-{split}",
            "description": f"{manifest.get('description', name)} Split: {split}."}
    write_experiment(frame, tmp / split, body, table_format=table_format)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _swap_in(tmp: Path, target: Path) -> None:
    """Put the finished folder in place; an older one is moved aside first, then removed."""
    old: Path | None = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        os.replace(target, old / target.name)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old)
