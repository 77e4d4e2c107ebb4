"""The sweep's fast paths (bucketed partial order, certified prefix-sum usage) agree with the
slow ones (full sort, full evaluation) and with evaluate() on the instance."""

from __future__ import annotations

import numpy as np
import pytest

from engine.dual.sweep import budget_sweep
from formulations import evaluate
from formulations.synthetic import synthetic_instance


@pytest.mark.parametrize("integral", [False, True])
def test_bucket_order_and_certified_usage_match_sort_and_evaluate(integral):
    inst = synthetic_instance(20_000, 5, 1, seed=11, integral_costs=integral)
    fractions = np.linspace(0.05, 1.2, 25)
    limits = fractions * inst.limits[0] / 0.3
    fast = budget_sweep(inst, limits)
    slow = budget_sweep(inst, limits, options={"order": "sort", "verify": "evaluate"})
    for f, s, lim in zip(fast, slow, limits, strict=True):
        assert np.array_equal(f.assignment, s.assignment)
        ev = evaluate(inst.with_limits([lim]), f.assignment)
        assert ev.feasible
        assert f.objective == pytest.approx(ev.objective, rel=1e-12, abs=1e-9)
        assert f.usage["cash"] == pytest.approx(ev.usage[0], rel=1e-12, abs=1e-9)
        assert f.bound == pytest.approx(s.bound, rel=1e-12)
        assert f.bound >= f.objective - 1e-9
