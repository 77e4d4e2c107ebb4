"""The dual's primal on many budgets: within 1% of its own bound on an MMKP-style instance
(100 classes x 10 items x 10 tight resources; before, the repaired Lagrangian choice and its
LP rounding stayed 1.2-2.9% below the bound on such instances, and where the repair failed the
greedy fallback was returned as is)."""

from __future__ import annotations

from engine.solve import solve
from formulations.assignment import evaluate
from formulations.orlib import read_mmkp
from formulations.synthetic_mmkp import mmkp_instance, write_mmkp


def test_dual_within_one_percent_of_its_bound_on_mmkp(tmp_path) -> None:
    inst = read_mmkp(write_mmkp(mmkp_instance(100, seed=0), tmp_path / "mmkp.txt"))
    assert inst.n_units == 100 and inst.n_budgets == 10 and inst.max_options == 10
    res = solve(inst, "dual")
    assert res.assignment is not None and evaluate(inst, res.assignment).feasible
    assert res.gap is not None and res.gap < 0.01, res.gap
