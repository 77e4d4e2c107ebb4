"""The compensated sum behind every usage and objective (formulations.summation)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from formulations.summation import LANES, compensated_sum


@pytest.mark.parametrize("n", [0, 1, 7, 4 * LANES + 3, 20 * LANES + 11])
def test_compensated_sum_matches_the_exact_sum(n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.lognormal(size=n) * rng.choice([-1.0, 1.0], size=n) * 10.0 ** rng.integers(-8, 8, n)
    exact = math.fsum(x)
    assert compensated_sum(x) == pytest.approx(exact, rel=4e-16, abs=1e-300)


def test_compensated_sum_beats_the_plain_sum_on_cents() -> None:
    x = np.full(50 * LANES, 0.01)
    exact = math.fsum(x)
    assert abs(compensated_sum(x) - exact) <= 1e-15 * exact
    # a plain float sum of the same cents drifts by orders of magnitude more
    assert abs(float(np.cumsum(x)[-1]) - exact) > 1e3 * abs(compensated_sum(x) - exact)
