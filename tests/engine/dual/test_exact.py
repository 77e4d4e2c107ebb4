"""dual-exact proves optima: equal to brute force / HiGHS."""

from __future__ import annotations

import pytest

from engine import solve
from formulations.synthetic import synthetic_instance
from tests.engine.dual.helpers import brute_force, random_instance
from tests.engine.dual.test_dual import CASES


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", range(2))
def test_dual_exact_equals_brute_force(case: int, seed: int) -> None:
    inst = random_instance(seed * 17 + case + 100, n=7, **CASES[case])  # type: ignore[arg-type]
    opt = brute_force(inst)
    r = solve(inst, "dual-exact")
    if opt is None:
        assert r.status == "infeasible"
        return
    assert r.status == "optimal"
    assert r.objective == pytest.approx(opt, rel=1e-6, abs=1e-6)
    assert r.bound is not None and r.bound >= opt - 1e-6


@pytest.mark.parametrize("n,m,k,integral", [(3000, 5, 1, False), (2000, 5, 1, True),
                                           (400, 4, 2, False)])
def test_dual_exact_equals_highs(n: int, m: int, k: int, integral: bool) -> None:
    inst = synthetic_instance(n, m, k, seed=5, integral_costs=integral)
    r = solve(inst, "dual-exact")
    h = solve(inst, "highs", time_limit=120)
    assert r.status == "optimal" and h.status == "optimal"
    assert r.objective == pytest.approx(h.objective, rel=1e-6)
    assert r.detail["core_units"] <= n


def test_time_limit_keeps_best_and_bound() -> None:
    inst = synthetic_instance(2000, 5, 2, seed=2)
    r = solve(inst, "dual-exact", time_limit=0.5)
    assert r.status in ("optimal", "time_limit")
    assert r.assignment is not None and r.bound is not None
