"""What the sweep's numbers must satisfy: monotonicity, LP = HiGHS' relaxation, scaling rules."""

from __future__ import annotations

import numpy as np
import pytest

from engine.backends.highs import solve_lp_relaxation
from engine.whatif import scale_sweep, scaled_instance, value_sweep, whatif
from formulations.instance import from_dense

from .helpers import small

FRACTIONS = np.linspace(0.1, 1.6, 9)


@pytest.fixture(scope="module")
def one_budget_sweep():
    inst = small(40, 1, seed=11)
    return inst, whatif(inst, scale_sweep(inst, FRACTIONS), solver="highs")


def test_value_is_non_decreasing_and_lambda_non_increasing_in_the_budget(one_budget_sweep):
    _inst, w = one_budget_sweep
    t = w.table
    assert (t["status"] == "optimal").all()
    value, lam, lp = t["value"].to_numpy(), t["lambda_cash"].to_numpy(), t["lp_value"].to_numpy()
    assert np.all(np.diff(value) >= -1e-9 * np.abs(value[1:]))
    assert np.all(np.diff(lp) >= -1e-9 * np.abs(lp[1:]))
    assert np.all(np.diff(lam) <= 1e-9)
    assert lam[0] > lam[-1] > -1e-12  # the instance is not saturated at the low end


def test_each_point_is_feasible_within_its_certificate_and_below_the_lp(one_budget_sweep):
    _inst, w = one_budget_sweep
    t = w.table
    assert np.all(t["spend_cash"] <= t["limit_cash"] * (1 + 1e-9))
    assert np.all(t["value"] <= t["bound"] + 1e-9)
    assert np.all(t["value"] <= t["lp_value"] + 1e-7)
    np.testing.assert_allclose(t[w.share_columns].sum(axis=1), 1.0)


def test_lp_value_and_lambda_match_highs_lp_relaxation_at_a_few_points(one_budget_sweep):
    inst, w = one_budget_sweep
    for i in (0, 4, 8):
        row = w.table.iloc[i]
        point = inst.with_limits([row["limit_cash"]])
        lp = solve_lp_relaxation(point).bound
        assert lp is not None
        assert row["lp_value"] == pytest.approx(lp, rel=1e-9)
        # lambda is the slope of the LP value: check it against a finite difference
        h = 1e-4 * row["limit_cash"]
        more = inst.with_limits([row["limit_cash"] + h])
        up = solve_lp_relaxation(more).bound
        assert up is not None
        assert row["lambda_cash"] == pytest.approx((up - lp) / h, rel=1e-3, abs=1e-9)


def test_multi_budget_scale_sweep_lambda_dot_limits_is_non_increasing():
    # V(t) = LP value with every limit scaled by t is concave with supergradient lambda(t) . B
    inst = small(30, 3, seed=5)
    w = whatif(inst, scale_sweep(inst, np.linspace(0.1, 1.6, 6)), solver="highs")
    lam = w.table[[f"lambda_{n}" for n in inst.budget_names]].to_numpy()
    slope = lam @ inst.limits
    assert np.all(np.diff(slope) <= 1e-7 * max(1.0, slope.max()))
    assert np.all(np.diff(w.table["value"]) >= -1e-9)


def test_scaled_instance_changes_exactly_the_named_options():
    inst = small(20, 2, seed=3)
    s = scaled_instance(inst, cost_scale={"coupon_2": 1.5}, value_scale={"coupon_4": 0.5})
    code = {lab: i for i, lab in enumerate(inst.option_labels)}
    c2 = inst.option_codes == code["coupon_2"]
    c4 = inst.option_codes == code["coupon_4"]
    np.testing.assert_array_equal(s.costs[:, c2], 1.5 * inst.costs[:, c2])
    np.testing.assert_array_equal(s.costs[:, ~c2], inst.costs[:, ~c2])
    np.testing.assert_array_equal(s.value[c4], 0.5 * inst.value[c4])
    np.testing.assert_array_equal(s.value[~c4], inst.value[~c4])
    assert s.budgets == inst.budgets and s.option_labels == inst.option_labels
    assert scaled_instance(inst) is inst


def test_dearer_coupon_never_raises_the_optimal_value_and_a_dearer_one_is_never_cheaper():
    # Guaranteed for non-negative costs: every allocation feasible after the increase was
    # feasible before. (A coupon's *share* is not monotone in its cost; it is not asserted.)
    inst = small(30, 1, seed=2)
    sweep = scale_sweep(inst, np.array([0.3, 0.7, 1.2]))
    base = whatif(inst, sweep, solver="highs").table
    dearer = whatif(inst, sweep, solver="highs", cost_scale={"coupon_2": 1.8}).table
    assert np.all(dearer["value"] <= base["value"] + 1e-9)
    # a coupon that costs more than the whole budget on every unit can never be given
    limit = sweep.limits[:, 0].max()
    huge = 2 * limit / inst.costs[0, inst.option_codes == 4].min()
    priced_out = whatif(inst, sweep, solver="highs", cost_scale={"coupon_4": huge}).table
    assert np.all(priced_out["share_coupon_4"] == 0.0)
    assert np.all(priced_out["value"] <= base["value"] + 1e-9)


def test_a_more_valuable_coupon_never_lowers_the_optimal_value():
    inst = small(30, 1, seed=4)
    inst = inst.replace(value=np.maximum(inst.value, 0.0))  # the guarantee needs values >= 0
    sweep = scale_sweep(inst, np.array([0.3, 1.0]))
    base = whatif(inst, sweep, solver="highs").table
    richer = whatif(inst, sweep, solver="highs", value_scale={"coupon_1": 1.5}).table
    assert np.all(richer["value"] >= base["value"] - 1e-9)


def test_treatment_mix_on_a_hand_checked_instance():
    # two units; the coupon is worth 3 on unit 0 and 1 on unit 1, and costs 1 on both
    inst = from_dense(np.array([[0.0, 3.0], [0.0, 1.0]]), np.array([[0.0, 1.0], [0.0, 1.0]]),
                      [1.0], budget_names=["cash"], option_labels=["none", "coupon"])
    # budgets between the LP's breakpoints (0, 1, 2), where lambda is unique
    w = whatif(inst, value_sweep(inst, "cash", np.array([0.5, 1.5, 2.5])), solver="highs")
    t = w.table
    assert list(t["value"]) == [0.0, 3.0, 4.0]
    assert list(t["share_coupon"]) == [0.0, 0.5, 1.0]
    np.testing.assert_allclose(t["lp_value"], [1.5, 3.5, 4.0])
    np.testing.assert_allclose(t["lambda_cash"], [3.0, 1.0, 0.0], atol=1e-9)


def test_lp_frontier_matches_highs_lp_relaxation():
    from engine.whatif import lp_frontier

    inst = small(60, 1, seed=21)
    f = lp_frontier(inst)
    assert f is not None, "engine.dual.sweep.lp_frontier is part of the dual engine"
    rng = np.random.default_rng(0)
    top = float(f.budget[-1])
    for b in [*rng.uniform(0.02, 1.1, 5) * top, float(f.budget[len(f.budget) // 2])]:
        lp = solve_lp_relaxation(inst.with_limits([b])).bound
        assert lp is not None
        assert float(f.value_at(np.array([b]))[0]) == pytest.approx(lp, rel=1e-9, abs=1e-9)
    slopes = f.slope_at(f.budget[:-1])
    assert np.all(np.diff(slopes) <= 1e-12)  # concave: slopes never increase
    assert float(f.slope_at(np.array([2 * top]))[0]) == 0.0


def test_dual_sweep_lp_value_and_lambda_are_the_exact_frontier():
    inst = small(300, 1, seed=13)
    sweep = scale_sweep(inst, FRACTIONS)
    w = whatif(inst, sweep, solver="dual")
    t = w.table
    assert w.lambda_source.startswith("exact LP frontier")
    assert w.frontier is not None
    b = sweep.limits[:, 0]
    np.testing.assert_allclose(t["lp_value"], w.frontier.value_at(b), rtol=1e-9)
    np.testing.assert_allclose(t["lambda_cash"], w.frontier.slope_at(b), rtol=1e-9)
    for i in (0, 5):
        lp = solve_lp_relaxation(inst.with_limits([b[i]])).bound
        assert t["lp_value"].iloc[i] == pytest.approx(lp, rel=1e-9)
    assert np.all(np.diff(t["lambda_cash"]) <= 1e-12)
    assert np.all(np.diff(t["lp_value"]) >= -1e-9)
    # every integer allocation is feasible and within its certified gap of the LP bound
    assert np.all(t["spend_cash"] <= t["limit_cash"] * (1 + 1e-9))
    assert np.all(t["value"] <= t["lp_value"] + 1e-9)
    np.testing.assert_allclose(t["bound"], t["lp_value"], rtol=1e-9)


def test_treatment_mix_of_ragged_and_dense_layouts_agree():
    from engine.whatif import treatment_mix
    from formulations.instance import Budget, Instance

    # unit 0 lists (none, c5, c10), unit 1 only (none), unit 2 lists (c10, none)
    ragged = Instance(
        name="ragged", unit_ids=np.array([0, 1, 2]), offsets=np.array([0, 3, 4, 6]),
        option_codes=np.array([0, 1, 2, 0, 2, 0], dtype=np.int32),
        option_labels=("none", "c5", "c10"), value=np.zeros(6), costs=np.zeros((1, 6)),
        budgets=(Budget("cash", 1.0),),
    )
    assert treatment_mix(ragged, np.array([2, 0, 0])) == pytest.approx(
        {"none": 1 / 3, "c5": 0.0, "c10": 2 / 3})
    dense = from_dense(np.zeros((4, 3)), np.zeros((4, 3)), [1.0], option_labels=["a", "b", "c"],
                       choose="at-most-one")
    assert treatment_mix(dense, np.array([0, 2, -1, 2])) == pytest.approx(
        {"a": 0.25, "b": 0.0, "c": 0.5, "(none)": 0.25})
