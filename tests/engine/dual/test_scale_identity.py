"""The one-budget ``dual`` gives bit-identical results before and after the Scale II speed work.

The expected objective, bound and assignment hash were produced by main's code at commit 51d3fe2
(before the speed work: numpy kernels only, the full-sort fill) with the generator calls below;
they are compared exactly (``==`` on floats, sha256 of the int64 assignment). Every case runs on
the numpy path and, where numba is installed, on the compiled kernels
(engine/dual/compiled.py), so both paths are pinned to the old results.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import pytest

from engine import solve
from engine.dual import compiled
from formulations.instance import Instance
from formulations.synthetic import synthetic_instance
from tests.engine.dual.helpers import random_instance

# name -> (instance builder, objective, bound, first 32 hex digits of sha256(assignment))
EXPECTED: dict[str, tuple[Callable[[], Instance], float, float, str]] = {
    "synthetic 200000x5 seed 0": (
        lambda: synthetic_instance(200_000, 5, seed=0),
        259492.23116439543, 259492.2379411332, "a73bdf6dbcfe4e43c7a8627a0eb6a4e5"),
    "synthetic 100000x8 seed 3 integral": (
        lambda: synthetic_instance(100_000, 8, seed=3, integral_costs=True),
        150091.5343422041, 150091.54451029017, "5d608d7d85315635eaa683bbaa769f7d"),
    "synthetic 100000x6 seed 5 at-most-one": (
        lambda: synthetic_instance(100_000, 6, seed=5, choose="at-most-one"),
        138604.6957539726, 138604.70399624712, "8245167c30dc47d46eeb0a4110372007"),
    "synthetic 50000x4 seed 7 fraction 0.05": (
        lambda: synthetic_instance(50_000, 4, seed=7, budget_fraction=0.05),
        26515.280419707233, 26515.340487397432, "fbe529997cc9d5bd82288bcc53503bf2"),
    # unsorted costs per row, ties in value and cost (2 decimals), ragged units
    "random 60000x5 seed 11": (
        lambda: random_instance(11, n=60_000, m=5),
        496898.27999999997, 496898.2928863931, "f3716226ced4b3035257992eb3817164"),
    "random 60000x6 seed 12 ragged": (
        lambda: random_instance(12, n=60_000, m=6, ragged=True),
        440771.65, 440771.64999999997, "427da580a95d84e4a4ae75a591853206"),
    "random 40000x4 seed 13 at-most-one ragged": (
        lambda: random_instance(13, n=40_000, m=4, ragged=True, choose="at-most-one"),
        247569.67, 247569.68936646607, "3fbabdc14f868b42212576a488bb1e90"),
}

PATHS = ["numpy", pytest.param("compiled", marks=pytest.mark.skipif(
    not compiled.installed(), reason="numba is not installed (the optional 'fast' extra)"))]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", list(EXPECTED))
def test_one_budget_result_is_bit_identical_to_main(
    name: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(compiled.ENV, "1" if path == "compiled" else "0")
    build, objective, bound, digest = EXPECTED[name]
    r = solve(build(), "dual")
    assert r.assignment is not None
    assert r.objective == objective
    assert r.bound == bound
    got = hashlib.sha256(np.asarray(r.assignment, dtype=np.int64).tobytes()).hexdigest()
    assert got[:32] == digest
    # the compiled path keeps compact hulls where every unit's costs are sorted (synthetic,
    # exactly-one; at-most-one's null column of cost 0 comes last, out of order)
    expect_compact = (path == "compiled" and name.startswith("synthetic")
                      and "at-most-one" not in name)
    assert r.detail["hull"] == ("compact" if expect_compact else "stored")
