"""The budget ``distribution`` shortcut: equal-mass quantile points, checked against scipy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from formulations import UsageError, load_instance
from formulations.distributions import discretise
from tests.formulations.bad_inputs import GOOD_CSV, GOOD_TOML


def test_lognormal_points_are_cell_medians() -> None:
    values, probs = discretise({"kind": "lognormal", "median": 100.0, "sigma": 0.2, "points": 9})
    assert probs.sum() == pytest.approx(1.0, abs=1e-12) and np.all(probs == probs[0])
    cdf = stats.lognorm.cdf(values, 0.2, scale=100.0)
    np.testing.assert_allclose(cdf, (np.arange(9) + 0.5) / 9, atol=1e-12)
    assert values[4] == pytest.approx(100.0)  # the middle point is the median


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"kind": "gamma", "shape": 1.0}, "kind"),
        ({"kind": "normal", "mean": 1.0}, "takes keys"),
        ({"kind": "normal", "mean": 1.0, "sd": -1.0}, "sd"),
        ({"kind": "uniform", "low": 2.0, "high": 1.0}, "low < high"),
        ({"kind": "lognormal", "median": 1.0, "sigma": 0.1, "points": 0}, "points"),
        ({"kind": "lognormal", "median": 1.0, "sigma": 0.1, "points": 2.5}, "points"),
        ({"kind": "lognormal", "median": True, "sigma": 0.1}, "median"),
        ("lognormal", "expected a table"),
    ],
)
def test_bad_specs(spec: object, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        discretise(spec)  # type: ignore[arg-type]


def test_distribution_in_a_manifest_becomes_scenarios(tmp_path: Path) -> None:
    toml = GOOD_TOML.replace(
        "limit = 10.0",
        'limit = 10.0\ndistribution = { kind = "uniform", low = 8.0, high = 12.0, points = 4 }',
    )
    (tmp_path / "instance.toml").write_text(toml)
    (tmp_path / "options.csv").write_text(GOOD_CSV)
    inst = load_instance(tmp_path)
    assert inst.budgets[0].limit == 10.0  # the base limit stays the given one
    assert [s.limits["cash"] for s in inst.scenarios] == [8.5, 9.5, 10.5, 11.5]
    assert sum(s.probability for s in inst.scenarios) == pytest.approx(1.0)
