"""The learner benchmarks, run whole (slow tier: `pytest -m slow tests/learners`)."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow
ALL = ["tsm-sl", "t-learner", "sklearn", "dhcl", "dfcl-pl", "dfcl-mer", "dfcl-ifd", "dfcl-ppl",
       "dfcl-pifd"]


def bench(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_every_method_on_one_seed_of_the_scarce_benchmark() -> None:
    rows = bench("bench_learners_sim").run_seed("scarce", 0, None, ALL)
    assert sorted(rows.method.unique()) == sorted(ALL)
    per = rows.groupby("method")["capture"].mean()
    # every method, trained on 10,000 noisy users, captures a real share of the oracle's uplift
    assert (per > 0.4).all(), per
    assert np.all(rows.spend <= rows.budget + 1e-9)
    summary = bench("bench_learners_sim").summary(rows)
    assert "best decision-focused method per seed" in summary


def test_rct_benchmark_on_thornton(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import shared_data

    root = shared_data()
    table = bench("bench_learners_rct").run_dataset("thornton_hiv_incentives", str(root), 1,
                                                     ALL, 200, tmp_path)
    assert {"tsm-sl", "dfcl-ppl", "dhcl"} <= set(table.model)
    assert (tmp_path / "learners_rct_thornton_hiv_incentives.png").exists()
