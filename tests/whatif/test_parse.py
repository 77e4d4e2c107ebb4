"""Parsing and validating the sweep and the option factors: bad input is a UsageError."""

from __future__ import annotations

import numpy as np
import pytest

from engine.whatif import check_scenarios, scale_sweep, scaled_instance, value_sweep
from formulations.errors import UsageError
from treatalloc.sweep_args import parse_budget_values, parse_factors, parse_scale_range

from .helpers import small, with_scenarios


def test_scale_range_gives_count_points_from_start_to_stop():
    x = parse_scale_range("0.5:1.5:11")
    assert x.shape == (11,)
    assert x[0] == 0.5 and x[-1] == 1.5
    np.testing.assert_allclose(np.diff(x), 0.1)
    assert list(parse_scale_range("0.8:0.8:1")) == [0.8]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("0:1:5", "must be > 0"),
        ("-0.5:1:3", "must be > 0"),
        ("0.5:-1:3", "must be > 0"),
        ("1.5:0.5:3", "START <= STOP"),
        ("0.5:1.5:0", "COUNT"),
        ("0.5:1.5:-2", "COUNT"),
        ("0.5:1.5:2.5", "COUNT"),
        ("0.5:1.5", "START:STOP:COUNT"),
        ("a:1:3", "START"),
        ("0.5:inf:3", "finite"),
        ("0.5:1.5:1", "COUNT=1"),
        ("1:1:4", "repeats"),
    ],
)
def test_bad_scale_ranges_are_rejected_with_a_clear_message(text, needle):
    with pytest.raises(UsageError, match=needle) as e:
        parse_scale_range(text)
    assert text in str(e.value)


def test_budget_values_are_sorted_and_must_be_positive():
    name, v = parse_budget_values("cash=300,100,200")
    assert name == "cash" and list(v) == [100.0, 200.0, 300.0]
    for bad, needle in [("cash=0,100", "> 0"), ("cash=-5", "> 0"), ("cash=", "NAME=V1"),
                        ("=1,2", "NAME=V1"), ("cash=1,x", "number"), ("cash=1,1", "twice")]:
        with pytest.raises(UsageError, match=needle):
            parse_budget_values(bad)


def test_unknown_budget_name_names_the_known_ones():
    inst = small()
    with pytest.raises(UsageError, match=r"unknown budget 'cahs'.*\['cash'\]"):
        value_sweep(inst, "cahs", np.array([1.0]))


def test_factors_parse_and_reject_bad_values():
    assert parse_factors(["coupon_1=1.5", "coupon_2=0"], "--cost-scale") == {
        "coupon_1": 1.5, "coupon_2": 0.0}
    for bad, needle in [(["coupon_1"], "OPTION=FACTOR"), (["coupon_1=-1"], ">= 0"),
                        (["coupon_1=nan"], "finite"), (["coupon_1=2", "coupon_1=3"], "twice")]:
        with pytest.raises(UsageError, match=needle):
            parse_factors(bad, "--cost-scale")


def test_a_factor_for_an_unknown_option_is_an_error():
    inst = small()
    with pytest.raises(UsageError, match=r"value_scale: unknown option\(s\) \['coupon_9'\]"):
        scaled_instance(inst, value_scale={"coupon_9": 2.0})


def test_scenario_probabilities_must_sum_to_one():
    check_scenarios(with_scenarios(small(), [0.25, 0.25, 0.5]))
    with pytest.raises(UsageError, match="sum to 1"):
        check_scenarios(with_scenarios(small(), [0.25, 0.25, 0.4]))


def test_scale_sweep_multiplies_every_budget():
    inst = small(k=3)
    sw = scale_sweep(inst, np.array([0.5, 1.0, 2.0]))
    np.testing.assert_allclose(sw.limits, np.outer([0.5, 1.0, 2.0], inst.limits))
    sv = value_sweep(inst, "budget_1", np.array([10.0, 20.0]))
    np.testing.assert_allclose(sv.limits[:, [0, 2]], np.tile(inst.limits[[0, 2]], (2, 1)))
    np.testing.assert_allclose(sv.limits[:, 1], [10.0, 20.0])
