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
