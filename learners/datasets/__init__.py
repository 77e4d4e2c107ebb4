"""Loaders of real public RCTs: clean a raw file, write v1 experiment data into a cache folder.

No torch here. Each dataset is one module (its docstring says the source, licence, cleaning,
what is value and what is cost, and every assumed cost); :func:`prepare` runs one and writes
``<out>/<dataset>/{all,train,validation,test}/data.toml`` plus ``prepared.toml``. The raw files
are not shipped: ``data_root`` (else ``$TREATALLOC_DATA_ROOT``) points at the user's copy.
See docs/datasets.md.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from types import ModuleType

from formulations.errors import UsageError
from learners.datasets.prepared import ArmStats, Prepared

DATASETS: dict[str, str] = {
    "hillstrom": "learners.datasets.hillstrom",
    "social_pressure": "learners.datasets.social_pressure",
    "thornton_hiv_incentives": "learners.datasets.thornton_hiv_incentives",
    "starbucks_promo": "learners.datasets.starbucks_promo",
    "criteo_sample": "learners.datasets.criteo_sample",
}
"""Dataset name -> the module that loads it."""

__all__ = ["DATASETS", "ArmStats", "Prepared", "dataset_module", "prepare"]


def dataset_module(name: str, *, what: str = "name") -> ModuleType:
    """The loader module of a dataset, or a UsageError listing the known names."""
    if name not in DATASETS:
        raise UsageError(f"{what}: unknown dataset {name!r}; expected one of {list(DATASETS)}")
    return importlib.import_module(DATASETS[name])


def prepare(
    name: str,
    data_root: str | os.PathLike[str] | None,
    out: str | os.PathLike[str] | None = None,
    *,
    seed: int = 0,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    table_format: str = "csv",
) -> Prepared:
    """Clean dataset ``name`` from ``data_root`` and write it into ``out`` (or the cache).

    Parameters
    ----------
    name
        A key of :data:`DATASETS`.
    data_root
        The folder holding one folder per raw dataset (``hillstrom/hillstrom.csv``, ...);
        None reads ``$TREATALLOC_DATA_ROOT``.
    out
        The cache folder; the dataset goes to ``out/<name>/``. None means
        ``$TREATALLOC_CACHE``, else ``~/.cache/treatalloc/datasets``.
    seed, fractions
        The stratified random split (train, validation, test). Where the source fixes the
        test rows (Starbucks' Test.csv) the other rows are split train : validation in the
        ratio of the first two fractions.
    table_format
        "csv" or "parquet".
    """
    from learners.datasets.build import prepare_dataset

    return prepare_dataset(dataset_module(name), data_root, out, seed=seed, fractions=fractions,
                           table_format=table_format)
