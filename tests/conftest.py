"""Shared fixtures: paths to the repository, its instances and the optional shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
INSTANCES = REPO / "instances"
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """Path into ../shared/data, or skip the test with a clear message where it is absent."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"needs {p} (the shared data folder beside the repository); not present here")
    return p


@pytest.fixture
def repo() -> Path:
    return REPO


def _one_thread_per_worker() -> None:
    """Under pytest-xdist every worker gets one thread: two workers with two OpenMP threads each
    on a two-core machine spin against each other (scikit-learn's gradient boosting ran 30x
    slower that way)."""
    import os

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


_one_thread_per_worker()
