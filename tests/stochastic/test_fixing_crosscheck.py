"""solve_at's fast path (LP, rounding, reduced-cost fixing, incumbent) gives the same optimum
as the plain MIP on random grouped problems, with ties, capacities and invalid cells."""

from __future__ import annotations

import numpy as np
import pytest

from engine.stochastic.milp import solve_program
from engine.stochastic.plans import solve_at
from formulations.stochastic_problem import grouped_problem
from formulations.stochastic_programs import deterministic_program


@pytest.mark.parametrize("seed", range(24))
def test_fixing_path_equals_plain_mip(seed):
    rng = np.random.default_rng(seed)
    g, m, b = int(rng.integers(2, 12)), int(rng.integers(2, 6)), int(rng.integers(1, 3))
    v = rng.normal(1, 1, (g, m)) * rng.integers(1, 5, (g, 1))
    v[:, 0] = 0
    c = np.abs(rng.normal(1, 1, (b, g, m)))
    c[:, :, 0] = 0
    if seed % 3 == 0:
        c = np.round(c * 3)  # integral costs: ties and degeneracy
    valid = rng.random((g, m)) > 0.2
    valid[:, 0] = True
    sizes = rng.integers(1, 40, g)
    caps = None
    if seed % 4 == 1:
        caps = np.full(m, np.inf)
        caps[1] = int(sizes.sum() * 0.3)
    lim = (c.max(axis=2) * sizes).sum(axis=1) * rng.uniform(0.05, 0.7, b)
    pb = grouped_problem(v, c, sizes, lim, valid=valid, capacities=caps)
    fast = solve_at(pb, lim, duals=False)
    plain = solve_program(deterministic_program(pb, lim))
    assert fast.status == plain.status == "optimal"
    assert fast.objective == pytest.approx(plain.objective, rel=1e-6, abs=1e-6)
    assert fast.bound >= fast.objective - 1e-9
