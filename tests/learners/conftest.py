"""A small simulated campaign shared by the learner tests (fast: a few thousand users)."""

from __future__ import annotations

import pytest

from learners.simulate import Simulation, simulate


@pytest.fixture(scope="session")
def small_sim() -> Simulation:
    return simulate("plentiful", n_users=20_000, n_obs=1_000, seed=11)
