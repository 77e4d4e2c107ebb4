"""EOM curves: a hand-computed example, bisection equivalence, unbiasedness, the bootstrap, the
paired difference and the simulator's matched true spend."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.eom_curve import (
    budget_grid,
    eom_curve,
    max_spend_per_capita,
    normalised,
    paired_difference,
    true_policy_value,
    true_value_at_budget,
)
from evaluation.lambda_path import lambda_path
from evaluation.policy import eom_at_budget, lagrangian_choice, policy_value
from formulations.errors import UsageError

# Hand example: 6 units, arms 0 (control, cost 0) and 1, propensity 1/2 everywhere (1/p = 2).
# Predicted uplift per unit of predicted cost (the λ of each unit's one move 0 -> 1):
#   unit 0: 3, unit 1: 2, unit 2: 1, unit 3: 0.5; units 4, 5: arm 1 dominated (never moves).
# So the path has steps 0 (nobody treated), 1 {0}, 2 {0,1}, 3 {0,1,2}, 4 {0,1,2,3}.
HAND_VP = np.array([[0.0, 3.0], [0.0, 2.0], [0.0, 1.0], [0.0, 0.5], [0.0, -1.0], [0.0, -1.0]])
HAND_CP = np.array([[0.0, 1.0]] * 6)
#                     unit:  0    1    2    3    4    5
HAND_T = np.array([1, 0, 1, 0, 1, 0])
HAND_Y = np.array([4.0, 1.0, 2.0, 3.0, 5.0, 2.0])
HAND_C = np.array([1.0, 0.0, 2.0, 0.0, 1.0, 0.0])
HAND_P = np.full(6, 0.5)
# IPW (divide by N = 6), w = 1[t_i = π(i)]:
#   all control: matched 1,3,5: V0 = 2 (1+3+2) / 6 = 2, S0 = 0
#   step 1: matched 0,1,3,5: V = 2 (4+1+3+2)/6 = 10/3, S = 2 (1)/6 = 1/3
#   step 2: unit 1 now on arm 1 but received 0 -> matched 0,3,5: V = 2 (4+3+2)/6 = 3, S = 1/3
#   step 3: + unit 2 (received 1): matched 0,2,3,5: V = 2 (4+2+3+2)/6 = 11/3, S = 2 (1+2)/6 = 1
#   step 4: unit 3 leaves its received arm 0: matched 0,2,5: V = 2 (4+2+2)/6 = 8/3, S = 1
# Budgets: 0.2 -> step 1 (1/3) exceeds: step 0, λ* = e_1 = 3, V = 2, uplift 0, spend 0
#          0.5 -> λ=0 policy (1) does not fit; steps 1, 2 fit (1/3), step 3 (1) exceeds:
#                 step 2, λ* = e_3 = 1, V = 3, uplift 1, spend 1/3
#          1.0 -> the λ = 0 policy fits: step 4, λ* = 0, V = 8/3, uplift 2/3, spend 1
# Self-normalised (divide by Σ w / p instead of N): control V0 = (1+3+2)/3 = 2, S0 = 0;
#   step 1: S = 1/4 (4 matched), V = (4+1+3+2)/4 = 5/2; step 2: S = 1/3; step 3: S = 3/4
#   budget 0.3: step 1 fits, step 2 (1/3) exceeds -> step 1, λ* = 2, V = 5/2, uplift 1/2


def test_hand_computed_eom_curve_ipw() -> None:
    cv = eom_curve(HAND_T, HAND_Y, HAND_C, HAND_VP, HAND_CP, [0.2, 0.5, 1.0], propensity=HAND_P)
    assert cv.lam.tolist() == [3.0, 1.0, 0.0]
    assert cv.value == pytest.approx([2.0, 3.0, 8.0 / 3.0])
    assert cv.uplift == pytest.approx([0.0, 1.0, 2.0 / 3.0])
    assert cv.spend == pytest.approx([0.0, 1.0 / 3.0, 1.0])
    assert cv.control_value == pytest.approx(2.0) and cv.control_spend == 0.0
    assert cv.matched.tolist() == [3, 3, 3]
    assert cv.chosen.tolist() == [[0] * 6, [1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0]]
    assert cv.fits.all()
    frame = cv.to_frame()
    assert list(frame.columns) == ["budget", "lam", "value", "uplift", "spend", "fits",
                                   "matched"]


def test_hand_computed_eom_curve_self_normalised() -> None:
    cv = eom_curve(HAND_T, HAND_Y, HAND_C, HAND_VP, HAND_CP, [0.3], propensity=HAND_P,
                   form="snipw")
    assert cv.lam.tolist() == [2.0]
    assert cv.value == pytest.approx([2.5]) and cv.uplift == pytest.approx([0.5])
    assert cv.spend == pytest.approx([0.25])
    ipw = eom_curve(HAND_T, HAND_Y, HAND_C, HAND_VP, HAND_CP, [0.3], propensity=HAND_P)
    assert ipw.lam.tolist() == [3.0]  # IPW: step 1 spends 1/3 > 0.3


def test_spend_is_incremental_over_all_control() -> None:
    # the hand example with every realised cost raised by 1 (a control that costs 1):
    #   all control: S0 = 2 (1+1+1)/6 = 1
    #   step 1: matched 0,1,3,5: S = 2 (2+1+1+1)/6 = 5/3 -> incremental 2/3
    #   step 2: matched 0,3,5: 2 (2+1+1)/6 = 4/3 -> 1/3; step 3: 0,2,3,5: 7/3 -> 4/3
    #   step 4: matched 0,2,5: 2 (2+3+1)/6 = 2 -> 1
    # budget 0.5: the λ = 0 policy (1) does not fit and step 1 (2/3) exceeds -> step 0
    # budget 1.0: the λ = 0 policy fits on incremental spend (1), though its absolute spend is 2
    c = HAND_C + 1.0
    cv = eom_curve(HAND_T, HAND_Y, c, HAND_VP, HAND_CP + 1.0, [0.5, 1.0], propensity=HAND_P)
    assert cv.control_spend == pytest.approx(1.0)
    assert cv.lam.tolist() == [3.0, 0.0]
    assert cv.spend == pytest.approx([0.0, 1.0])
    assert cv.value == pytest.approx([2.0, 8.0 / 3.0])
    absolute = policy_value(HAND_T, HAND_Y, chosen=cv.chosen[1], cost=c, propensity=HAND_P)
    assert absolute.spend == pytest.approx(2.0)
    lam, pv = eom_at_budget(HAND_T, HAND_Y, c, HAND_VP, HAND_CP + 1.0, 1.0, propensity=HAND_P)
    assert lam == 0.0 and pv.spend == pytest.approx(1.0)


def _bisection_lambda(t, y, c, vp, cp, budget, p, tol=1e-10, max_iter=200):
    """The papers' Algorithm 2 as the old eom_at_budget ran it: bisection on λ with argmax."""
    def spend(lam: float) -> float:
        pv = policy_value(t, y, chosen=lagrangian_choice(vp, cp, lam), cost=c, propensity=p)
        control = policy_value(t, y, chosen=np.zeros_like(t), cost=c, propensity=p)
        return pv.spend - control.spend

    pos = cp[cp > 1e-12]
    lo, hi = 0.0, float(np.max(vp[cp > 1e-12] / pos)) + 1.0
    if spend(lo) <= budget:
        return 0.0
    best = hi
    for _ in range(max_iter):
        if hi - lo <= tol:
            break
        mid = 0.5 * (lo + hi)
        if spend(mid) <= budget:
            hi = best = mid
        else:
            lo = mid
    return best


@pytest.mark.parametrize("seed", range(6))
def test_eom_at_budget_lambda_is_where_bisection_converges(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    m = 2 if seed < 3 else 3
    vp = rng.uniform(0, 3, (n, m))
    cp = np.concatenate([np.zeros((n, 1)), rng.uniform(0.1, 2.0, (n, m - 1))], axis=1)
    if m == 3:
        # one treated arm per unit worth having (the other below control): each unit moves
        # once, 0 -> its arm, so IPW spend only grows as λ falls (monotone, where bisection is
        # the papers' algorithm)
        vp[np.arange(n), rng.integers(1, 3, n)] = -1.0
    t = rng.integers(0, m, n)
    y = vp[np.arange(n), t] + rng.normal(0, 0.3, n)
    c = cp[np.arange(n), t] * rng.uniform(0.5, 1.5, n)
    p = np.full(n, 1.0 / m)
    path = lambda_path(vp, cp)
    cv = eom_curve(t, y, c, vp, cp, [0.0], propensity=p, path=path)
    ip = 1.0 / p
    spend_steps = path.received_step_values(t, c * ip) / n - cv.control_spend
    assert np.all(np.diff(spend_steps) >= -1e-12)  # monotone by construction (see above)
    top = spend_steps[-1]
    for frac in (0.1, 0.37, 0.8, 1.2):
        budget = frac * top
        lam, pv = eom_at_budget(t, y, c, vp, cp, budget, propensity=p)
        lam_b = _bisection_lambda(t, y, c, vp, cp, budget, p)
        if frac > 1:
            assert lam == 0.0 == lam_b
        else:
            # bisection approaches λ* from above (at λ* the policy just above it fits)
            assert lam <= lam_b <= lam + 1e-9
        chosen_b = lagrangian_choice(vp, cp, lam_b)
        ref = policy_value(t, y, chosen=chosen_b, cost=c, propensity=p)
        assert pv.value == pytest.approx(ref.value, abs=1e-12)
        assert pv.spend == pytest.approx(ref.spend, abs=1e-12)
        assert pv.spend <= budget


def test_curve_values_equal_policy_value_of_its_chosen_arms() -> None:
    rng = np.random.default_rng(11)
    n, m = 2000, 4
    vp = rng.normal(size=(n, m))
    cp = rng.uniform(0, 1, (n, m))
    cp[:, 0] = 0.0
    t = rng.integers(0, m, n)
    y = rng.normal(size=n) + vp[np.arange(n), t]
    c = cp[np.arange(n), t]
    budgets = budget_grid(max_spend_per_capita(t, c), 5)
    for form in ("ipw", "snipw"):
        cv = eom_curve(t, y, c, vp, cp, budgets, form=form)
        for k in range(budgets.size):
            pv = policy_value(t, y, chosen=cv.chosen[k], cost=c, form=form)
            assert cv.value[k] == pytest.approx(pv.value, abs=1e-12)
            assert cv.spend[k] == pytest.approx(pv.spend, abs=1e-12)  # control cost is 0
            assert cv.matched[k] == pv.matched
        assert np.all(cv.spend <= budgets)


def test_ipw_value_is_unbiased_over_200_randomisations() -> None:
    # fixed potential outcomes and a fixed policy (λ fixed, not matched to a noisy spend);
    # only the assignment (Bernoulli, p = 1/3) and the outcome noise change between seeds
    rng = np.random.default_rng(0)
    n, m = 600, 3
    mu = np.stack([np.zeros(n), 1.0 + rng.normal(0, 1, n), 2.0 * rng.normal(0, 1, n)], axis=1)
    cost = np.stack([np.zeros(n), np.ones(n), 2.0 * np.ones(n)], axis=1)
    vp = mu + rng.normal(0, 0.5, (n, m))  # a model's (imperfect) predictions
    path = lambda_path(vp, cost)
    steps = path.step_at(np.array([0.0, 0.5, 1.0]))
    chosen = path.chosen_steps(steps)
    truth = mu[np.arange(n), chosen].mean(axis=1)
    truth_uplift = truth - mu[:, 0].mean()
    est = np.empty((200, steps.size))
    est_uplift = np.empty_like(est)
    for seed in range(200):
        r = np.random.default_rng(1000 + seed)
        t = r.integers(0, m, n)
        y = mu[np.arange(n), t] + r.normal(0, 1, n)
        per_step = path.received_step_values(t, y * 3.0) / n
        est[seed] = per_step[steps]
        est_uplift[seed] = est[seed] - (y * 3.0 * (t == 0)).sum() / n
    for e, tr in ((est, truth), (est_uplift, truth_uplift)):
        err = e - tr
        se = err.std(axis=0, ddof=1) / np.sqrt(err.shape[0])
        assert np.all(np.abs(err.mean(axis=0)) < 3 * se)
    # and the estimator is not trivially centred: a biased variant (dropping 1/p) fails
    err_biased = est / 3.0 - truth
    assert np.any(np.abs(err_biased.mean(axis=0)) > 3 * err_biased.std(axis=0) / np.sqrt(200))


def _rct(seed: int, n: int = 3000, m: int = 3):
    rng = np.random.default_rng(seed)
    mu = np.stack([np.zeros(n), *(rng.uniform(0, 1.5, n) * (j + 1) for j in range(m - 1))],
                  axis=1)
    cost = np.tile(np.arange(m, dtype=float), (n, 1))
    t = rng.integers(0, m, n)
    y = mu[np.arange(n), t] + rng.normal(0, 1, n)
    c = cost[np.arange(n), t]
    return mu, cost, t, y, c


def test_bootstrap_intervals_are_those_of_policy_value_with_the_same_draws() -> None:
    mu, cost, t, y, c = _rct(3)
    cv = eom_curve(t, y, c, mu, cost, [0.3, 0.9], n_boot=150, seed=4)
    assert cv.value_ci is not None and cv.uplift_ci is not None and cv.spend_ci is not None
    for k in range(2):
        pv = policy_value(t, y, chosen=cv.chosen[k], cost=c, n_boot=150, seed=4)
        assert cv.value_ci[k] == pytest.approx(pv.value_ci, rel=1e-9)
        assert cv.spend_ci[k] == pytest.approx(pv.spend_ci, rel=1e-9)  # control cost 0
        assert cv.value_ci[k, 0] <= cv.value[k] <= cv.value_ci[k, 1]
        assert cv.uplift_ci[k, 0] <= cv.uplift[k] <= cv.uplift_ci[k, 1]
    frame = cv.to_frame()
    assert {"value_lo", "value_hi", "uplift_lo", "spend_hi"} <= set(frame.columns)


def test_paired_difference_against_itself_is_exactly_zero() -> None:
    mu, cost, t, y, c = _rct(5)
    budgets = [0.2, 0.5, 0.8]
    a = eom_curve(t, y, c, mu, cost, budgets)
    b = eom_curve(t, y, c, mu.copy(), cost.copy(), budgets)
    d = paired_difference(a, b, t, y, c, n_boot=200, seed=1)
    assert d.difference.tolist() == [0.0, 0.0, 0.0]
    assert d.ci is not None and d.ci.tolist() == [[0.0, 0.0]] * 3
    assert d.share_below_zero.tolist() == [0.0, 0.0, 0.0]


def test_paired_difference_against_a_worse_model_excludes_zero() -> None:
    mu, cost, t, y, c = _rct(6, n=4000)
    budgets = [0.3, 0.6]
    good = eom_curve(t, y, c, mu, cost, budgets)
    rng = np.random.default_rng(0)
    worse = eom_curve(t, y, c, rng.normal(size=mu.shape), cost, budgets)  # random ranking
    d = paired_difference(good, worse, t, y, c, n_boot=300, seed=2)
    assert d.ci is not None
    assert np.all(d.ci[:, 0] > 0)
    assert np.all(d.share_below_zero < 0.025)
    assert d.difference == pytest.approx(good.value - worse.value)
    # the other way round the interval lies below 0
    rev = paired_difference(worse, good, t, y, c, n_boot=300, seed=2)
    assert np.all(rev.ci[:, 1] < 0) and np.all(rev.share_below_zero > 0.975)


def test_paired_difference_refuses_mismatched_curves() -> None:
    mu, cost, t, y, c = _rct(7, n=500)
    a = eom_curve(t, y, c, mu, cost, [0.2, 0.4])
    with pytest.raises(UsageError, match="budgets of curve_a"):
        paired_difference(a, eom_curve(t, y, c, mu, cost, [0.2]), t, y, c)
    with pytest.raises(UsageError, match="estimator of curve_a"):
        paired_difference(a, eom_curve(t, y, c, mu, cost, [0.2, 0.4], form="snipw"), t, y, c)
    with pytest.raises(UsageError, match="expected 500 units"):
        paired_difference(a, a, t[:400], y[:400], c[:400])


def test_normalised_divides_by_the_baseline_per_budget() -> None:
    mu, cost, t, y, c = _rct(8, n=1000)
    a = eom_curve(t, y, c, mu, cost, [0.3, 0.6])
    b = eom_curve(t, y, c, mu * 0.5 + 0.1, cost, [0.3, 0.6])
    nb = normalised(a, b)
    assert nb.value == pytest.approx(a.value / b.value)
    assert nb.uplift == pytest.approx(a.uplift / b.uplift)
    assert normalised(b, b).value == pytest.approx([1.0, 1.0])
    with pytest.raises(UsageError, match="budgets of the curve"):
        normalised(a, eom_curve(t, y, c, mu, cost, [0.3]))


def test_max_spend_and_budget_grid() -> None:
    t = np.array([0, 0, 1, 1, 2, 2])
    c = np.array([1.0, 1.0, 3.0, 1.0, 2.0, 2.0])
    # all-j IPW spend (p = 1/3, 1/p = 3, N = 6): arm 0: 3 (2)/6 = 1; arm 1: 3 (4)/6 = 2;
    # arm 2: 3 (4)/6 = 2 -> largest increment 2 - 1 = 1
    assert max_spend_per_capita(t, c) == pytest.approx(1.0)
    assert budget_grid(1.0, 4).tolist() == [0.25, 0.5, 0.75, 1.0]
    with pytest.raises(UsageError, match="positive number of budgets"):
        budget_grid(1.0, 0)


def test_true_spend_protocol_hits_the_budget() -> None:
    rng = np.random.default_rng(9)
    n, m = 400, 4
    tv = np.cumsum(rng.uniform(0, 1, (n, m)), axis=1)
    tc = np.cumsum(rng.uniform(0, 1, (n, m)), axis=1)
    vp = tv + rng.normal(0, 0.3, (n, m))
    cp = tc + rng.normal(0, 0.3, (n, m))
    path = lambda_path(vp, cp)
    inc = tc - tc[:, :1]
    step_spend = inc[np.arange(n), path.chosen_steps(np.arange(path.n_steps))].mean(axis=1)
    budgets = np.array([0.1, 0.5, 1.0, 1.7, 50.0])
    curve = true_value_at_budget(vp, cp, tv, tc, budgets)
    for k, b in enumerate(budgets):
        s = int(path.step_at(curve.lam[k])) if curve.lam[k] > 0 else path.n_steps - 1
        assert curve.spend[k] == pytest.approx(step_spend[s])
        assert curve.spend[k] <= b
        if s < path.n_steps - 1:
            # the next breakpoint's policy would exceed the budget; every earlier one fits
            assert step_spend[s + 1] > b
            assert np.all(step_spend[1 : s + 1] <= b)
        fixed = true_policy_value(curve.chosen[k], tv, tc)
        assert fixed.value == pytest.approx(curve.value[k])
        assert fixed.uplift == pytest.approx(curve.uplift[k])
        assert fixed.spend == pytest.approx(curve.spend[k])
    assert curve.lam[-1] == 0.0 and curve.fits.all()


def test_true_policy_value_by_hand() -> None:
    tv = np.array([[1.0, 3.0], [2.0, 2.5]])
    tc = np.array([[0.5, 2.0], [0.0, 1.0]])
    r = true_policy_value(np.array([1, 0]), tv, tc)
    assert r.value == pytest.approx((3.0 + 2.0) / 2)
    assert r.uplift == pytest.approx(2.5 - 1.5)
    assert r.spend == pytest.approx((2.0 - 0.5 + 0.0) / 2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"received": np.array([0, 1, 2])}, r"received: expected arm indices 0..1 .* at unit 2"),
        ({"received": np.array([0.0, 1.0, 0.0])}, "integer arm indices"),
        ({"outcome": [1.0, 2.0]}, "outcome: expected 3 entries"),
        ({"cost": [0.0, np.inf, 0.0]}, "cost: expected finite numbers"),
        ({"propensity": [0.5, 0.0, 0.5]}, r"propensity: expected values in \(0, 1\]"),
        ({"value_pred": np.zeros((2, 2)), "cost_pred": np.zeros((2, 2))}, "expected 3 rows"),
        ({"budgets_per_capita": [0.1, np.nan]}, "budgets_per_capita: expected finite"),
        ({"form": "aipw"}, "form: expected one of"),
        ({"n_boot": -2}, "n_boot"),
        ({"level": 1.0}, "level"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs: dict, match: str) -> None:
    args = {"received": np.array([0, 1, 0]), "outcome": [1.0, 2.0, 3.0], "cost": [0.0, 1.0, 0.0],
            "value_pred": np.zeros((3, 2)), "cost_pred": np.zeros((3, 2)),
            "budgets_per_capita": [0.5]}
    args.update(kwargs)
    with pytest.raises(UsageError, match=match):
        eom_curve(**args)
