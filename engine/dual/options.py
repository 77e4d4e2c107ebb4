"""Options of the dual family (``dual``, ``dual-exact``, the budget sweep) as dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from engine.options import Options


@dataclass(frozen=True)
class DualOptions(Options):
    """Options of ``dual``.

    ``gap``: stop the level bundle (several budgets) once its relative gap is this small
    (default 1e-6; one budget is solved exactly whatever it is); ``max_iter``: bundle
    evaluations; ``selection``: "bracket" (weighted selection) or "sort"; ``polish``: the core
    LP polish of a multi-budget allocation; ``core_size``: its units; ``lam0``: warm-start
    multipliers. ``backend``: "numpy" (in memory) or "dask", whose options are ``scheduler``,
    ``client``, ``n_workers``, ``threads_per_worker``, ``memory_limit``, ``connect_timeout``,
    ``partition_rows``, ``persist`` (auto, true or false), ``fill_rounds`` and ``out``
    (engine.distributed.dask_dual).
    """

    backend: Literal["numpy", "dask"] = "numpy"
    gap: float = 1e-6
    max_iter: int = 200
    selection: Literal["bracket", "sort"] = "bracket"
    polish: bool = True
    core_size: int = 5_000
    lam0: Any = None
    scheduler: str | None = None
    client: Any = None
    n_workers: int = 2
    threads_per_worker: int = 1
    memory_limit: Any = "auto"
    connect_timeout: float = 20.0
    partition_rows: int = 1_000_000
    persist: Any = "auto"
    fill_rounds: int = 100
    out: str | None = None


@dataclass(frozen=True)
class DualExactOptions(DualOptions):
    """Options of ``dual-exact``: those of ``dual`` (in memory only) and ``threads`` for the
    HiGHS solve of the core."""

    threads: int | None = None


@dataclass(frozen=True)
class SweepOptions(DualOptions):
    """Options of the budget sweep (engine.dual.sweep.budget_sweep): those of ``dual`` and
    ``fill`` ("hull" or "full"), ``order`` ("bucket" or "sort"), ``verify`` ("certified" or
    "evaluate")."""

    fill: Literal["hull", "full"] = "hull"
    order: Literal["bucket", "sort"] = "bucket"
    verify: Literal["certified", "evaluate"] = "certified"
