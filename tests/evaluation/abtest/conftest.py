"""One thread per test process: OpenMP/BLAS thread pools oversubscribe badly on a shared machine
(measured: one gradient-boosting fit 0.14 s with one thread, 4.9 s with default threads under
load)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> Iterator[None]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield
