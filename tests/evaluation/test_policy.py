"""EOM policy value on randomised data: hand-computed cases, unbiasedness, intervals, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.policy import eom_at_budget, lagrangian_choice, policy_value
from formulations.errors import UsageError


def test_hand_computed_ipw_and_self_normalised() -> None:
    received = np.array(["a", "b", "a", "b"])
    chosen = np.array(["a", "a", "a", "b"])
    y = np.array([1.0, 5.0, 3.0, 2.0])
    c = np.array([0.5, 1.0, 0.5, 2.0])
    p = np.array([0.5, 0.5, 0.5, 0.5])
    ipw = policy_value(received, y, chosen=chosen, cost=c, propensity=p)
    # matched: units 0, 2, 3, each weight 1/0.5 = 2
    assert ipw.value == pytest.approx((2 * 1 + 2 * 3 + 2 * 2) / 4)
    assert ipw.spend == pytest.approx((2 * 0.5 + 2 * 0.5 + 2 * 2) / 4)
    sn = policy_value(received, y, chosen=chosen, cost=c, propensity=p, form="snipw")
    assert sn.value == pytest.approx((1 + 3 + 2) / 3)
    assert sn.spend == pytest.approx((0.5 + 0.5 + 2) / 3)
    assert ipw.matched == 3


def test_default_propensity_is_arm_share() -> None:
    received = np.array([0, 0, 0, 1])
    y = np.array([1.0, 2.0, 3.0, 4.0])
    v = policy_value(received, y, chosen=np.zeros(4, dtype=int))
    assert v.value == pytest.approx((1 + 2 + 3) / 0.75 / 4)


def test_policy_prob_equals_deterministic_indicator() -> None:
    rng = np.random.default_rng(0)
    t = rng.integers(0, 3, 500)
    ch = rng.integers(0, 3, 500)
    y = rng.normal(size=500)
    a = policy_value(t, y, chosen=ch, n_boot=50, seed=1)
    b = policy_value(t, y, policy_prob=(t == ch).astype(float), n_boot=50, seed=1)
    assert a.value == pytest.approx(b.value) and a.value_ci == pytest.approx(b.value_ci)


def _rct(n: int, seed: int):
    """3 arms with known potential outcomes; the policy picks arm 2 for x > 0, else arm 1."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y_pot = np.stack([np.zeros(n), 1.0 + 0.5 * x, 2.0 * x], axis=1) + rng.normal(0, 1, (n, 3))
    c_pot = np.stack([np.zeros(n), np.ones(n), 2.0 * np.ones(n)], axis=1)
    t = rng.integers(0, 3, n)
    pi = np.where(x > 0, 2, 1)
    truth_v = y_pot[np.arange(n), pi].mean()
    truth_c = c_pot[np.arange(n), pi].mean()
    return t, y_pot[np.arange(n), t], c_pot[np.arange(n), t], pi, truth_v, truth_c


def test_ipw_is_unbiased_over_seeds() -> None:
    est, truths = [], []
    for seed in range(40):
        t, y, c, pi, tv, _ = _rct(3000, seed)
        est.append(policy_value(t, y, chosen=pi, cost=c, propensity=np.full(3000, 1 / 3)).value)
        truths.append(tv)
    err = np.array(est) - np.array(truths)
    # mean error within 3 standard errors of zero
    assert abs(err.mean()) < 3 * err.std(ddof=1) / np.sqrt(err.size)


def test_bootstrap_interval_covers_truth_and_shrinks() -> None:
    t, y, c, pi, tv, tc = _rct(20000, 7)
    big = policy_value(t, y, chosen=pi, cost=c, n_boot=300, seed=3)
    assert big.value_ci[0] <= big.value <= big.value_ci[1]
    assert big.value_ci[0] <= tv <= big.value_ci[1]
    assert big.spend_ci[0] <= tc <= big.spend_ci[1]
    small = policy_value(t[:2000], y[:2000], chosen=pi[:2000], cost=c[:2000], n_boot=300, seed=3)
    width = lambda v: v.value_ci[1] - v.value_ci[0]  # noqa: E731
    assert width(small) > 2 * width(big)
    sn = policy_value(t, y, chosen=pi, cost=c, n_boot=300, seed=3, form="snipw")
    assert sn.value_ci[0] <= tv <= sn.value_ci[1]


def test_eom_at_budget_respects_the_budget() -> None:
    rng = np.random.default_rng(5)
    n, m = 4000, 3
    vp = np.sort(rng.uniform(0, 3, (n, m)), axis=1)
    cp = np.tile([0.0, 1.0, 2.0], (n, 1))
    t = rng.integers(0, m, n)
    y = vp[np.arange(n), t] + rng.normal(0, 0.5, n)
    c = cp[np.arange(n), t]
    lams = []
    for budget in (0.3, 0.8, 1.5):
        lam, pv = eom_at_budget(t, y, c, vp, cp, budget, n_boot=20)
        assert pv.spend <= budget
        assert pv.value_ci is not None
        lams.append(lam)
        assert np.array_equal(lagrangian_choice(vp, cp, lam).shape, (n,))
    assert lams[0] >= lams[1] >= lams[2]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"outcome": [1.0, 2.0]}, "outcome: expected 3 entries"),
        ({"chosen": [0, 1]}, "chosen: expected 3 entries"),
        ({"propensity": [0.5, 0.0, 0.5]}, r"propensity: expected values in \(0, 1\]"),
        ({"propensity": [0.5, 1.5, 0.5]}, r"propensity: expected values in \(0, 1\]"),
        ({"propensity": [0.5, 0.5]}, "propensity: expected 3 entries"),
        ({"outcome": [1.0, np.nan, 0.0]}, "outcome: expected finite numbers"),
        ({"cost": [1.0, 2.0]}, "cost: expected 3 entries"),
        ({"form": "aipw"}, "form: expected one of"),
        ({"policy_prob": [0.1, 0.2, 0.3]}, "exactly one"),
        ({"chosen": None, "policy_prob": [0.1, 2.0, 0.3]}, r"policy_prob: expected probabilities"),
        ({"n_boot": -1}, "n_boot"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs: dict, match: str) -> None:
    args = {"received": [0, 1, 0], "outcome": [1.0, 2.0, 3.0], "chosen": [0, 0, 1]}
    args.update(kwargs)
    with pytest.raises(UsageError, match=match):
        policy_value(args.pop("received"), args.pop("outcome"), **args)


def test_empty_input_is_an_error() -> None:
    with pytest.raises(UsageError, match="at least one unit"):
        policy_value([], [], chosen=[])
