"""A Dask client for a solve: an existing cluster by address, a given Client, or a LocalCluster.

``options["scheduler"]`` (e.g. ``tcp://10.0.0.5:8786``, as printed by ``dask scheduler``) joins
an existing cluster; without it a LocalCluster of ``n_workers`` processes (default 2) with one
thread each is started for the solve and closed after it. ``options["client"]`` may hold a live
``distributed.Client`` (API use; it is left open).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from formulations.errors import UsageError


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as e:  # pragma: no cover - dask is an optional extra
        raise UsageError(
            "the dask backend needs dask[distributed]: pip install 'treatalloc[dask]'"
        ) from e
    return distributed


@contextmanager
def dask_client(options: Mapping[str, Any]) -> Iterator[Any]:
    """Yield a connected ``distributed.Client``; close what this function opened."""
    distributed = _import_distributed()
    given = options.get("client")
    if given is not None:
        yield given
        return
    address = options.get("scheduler")
    if address:
        timeout = float(options.get("connect_timeout", 20))
        try:
            client = distributed.Client(str(address), timeout=timeout)
        except (OSError, TimeoutError) as e:
            raise UsageError(
                f"scheduler: cannot connect to {address!r} within {timeout:g} s ({e}); start one "
                "with `dask scheduler` and workers with `dask worker ADDRESS`"
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    n_workers = int(options.get("n_workers", 2))
    if n_workers < 1:
        raise UsageError(f"n_workers: expected >= 1, got {n_workers}")
    cluster = distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=int(options.get("threads_per_worker", 1)),
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
        memory_limit=options.get("memory_limit", "auto"),
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def cluster_memory(client: Any) -> float:
    """Sum of the workers' memory limits in bytes (0 where unknown)."""
    info = client.scheduler_info(n_workers=-1) if _accepts_n_workers(client) else (
        client.scheduler_info()
    )
    return float(sum(w.get("memory_limit", 0) or 0 for w in info.get("workers", {}).values()))


def _accepts_n_workers(client: Any) -> bool:
    import inspect

    try:
        return "n_workers" in inspect.signature(client.scheduler_info).parameters
    except (TypeError, ValueError):
        return False
