"""The training oracle: λ* equals the engine's dual multiplier (predicted spend) and
eom_at_budget's λ (IPW spend); the argmax follows the engine's hull rule; bad input."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch

from engine.solve import solve
from evaluation.policy import eom_at_budget
from formulations.errors import UsageError
from learners.oracle import (
    LambdaCache,
    allocate,
    batch_lambda_star,
    lagrangian_argmax,
    lagrangian_argmax_torch,
    lambda_star,
)
from learners.provider import BudgetWarning, predictions_instance
from learners.tensors import rct_batch


def predictions(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random predictions with concave-ish values and a control that costs 0."""
    rng = np.random.default_rng(seed)
    value = 1.0 + rng.random((n, m)).cumsum(axis=1) * rng.lognormal(0, 0.5, (n, 1))
    cost = np.sort(rng.random((n, m)) * 4.0, axis=1)
    cost[:, 0] = 0.0
    return value, cost


def rct(value: np.ndarray, cost: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed + 100)
    n, m = value.shape
    shares = np.linspace(1.0, 2.0, m) / np.linspace(1.0, 2.0, m).sum()
    t = rng.choice(m, size=n, p=shares)
    rows = np.arange(n)
    y = value[rows, t] + rng.normal(0, 0.5, n)
    c = cost[rows, t] * rng.uniform(0.5, 1.5, n)
    return t, y, c, shares[t]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("budget", [0.05, 0.4, 1.2])
def test_predicted_spend_lambda_is_the_engine_dual_multiplier(seed: int, budget: float) -> None:
    value, cost = predictions(300, 4, seed)
    inst = predictions_instance(value, cost, budget * 300, arms=("a", "b", "c", "d"),
                                unit_ids=np.arange(300), name="oracle")
    engine_lam = solve(inst, "dual").multipliers["cost"]
    lam = lambda_star(value, cost, budget, spend="predicted")
    assert lam > 0
    assert lam == engine_lam
    # and torch tensors give the same number (detached inside)
    t_lam = lambda_star(torch.tensor(value, requires_grad=True), torch.tensor(cost), budget,
                        spend="predicted")
    assert t_lam == engine_lam


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("budget", [0.1, 0.6, 1.5])
def test_ipw_spend_lambda_is_eom_at_budget_lambda(seed: int, budget: float) -> None:
    value, cost = predictions(400, 3, seed)
    t, y, c, p = rct(value, cost, seed)
    lam_eval, pv = eom_at_budget(t, y, c, value, cost, budget, propensity=p)
    lam = lambda_star(value, cost, budget, received=t, cost=c, propensity=p)
    assert lam == lam_eval
    assert lam > 0
    # the allocation at λ* is the policy eom_at_budget scored (same matched units)
    alloc = allocate(value, cost, budget, received=t, cost=c, propensity=p)
    assert alloc.lam == lam
    assert float(((alloc.chosen == t) * 1.0).sum()) == pv.matched
    np.testing.assert_array_equal(alloc.chosen, lagrangian_argmax(value, cost, lam))


def test_batch_lambda_star_reads_the_batch() -> None:
    value, cost = predictions(200, 3, 5)
    t, y, c, p = rct(value, cost, 5)
    batch = rct_batch(t, y, c, p)
    got = batch_lambda_star(torch.tensor(value), torch.tensor(cost), batch, 0.5)
    # the batch stores float32 costs and propensities
    want = lambda_star(value, cost, 0.5, received=t, cost=c.astype(np.float32),
                       propensity=p.astype(np.float32))
    assert got == want
    obs = rct_batch(t, y, c, p)
    obs = type(obs)(**{**obs.__dict__, "randomised": False})
    with pytest.raises(UsageError, match=r"randomised"):
        batch_lambda_star(value, cost, obs, 0.5)
    assert batch_lambda_star(value, cost, obs, 0.5, spend="predicted") == lambda_star(
        value, cost, 0.5, spend="predicted")


def test_lambda_star_decreases_with_the_budget() -> None:
    value, cost = predictions(500, 5, 7)
    lams = [lambda_star(value, cost, b, spend="predicted") for b in (0.1, 0.3, 0.9, 1.8)]
    assert all(a > b for a, b in itertools.pairwise(lams))


@pytest.mark.parametrize("lam", [0.0, 0.2, 0.7, 3.0])
def test_argmax_numpy_and_torch_agree_and_are_the_lagrangian_choice(lam: float) -> None:
    value, cost = predictions(1000, 5, 9)
    a = lagrangian_argmax(value, cost, lam)
    b = lagrangian_argmax_torch(torch.tensor(value), torch.tensor(cost), lam).numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, np.argmax(value - lam * cost, axis=1))


def test_argmax_ties_go_to_the_cheaper_arm_as_the_engine() -> None:
    # unit 0: arms 1 and 2 tie at λ = 1 (2 - 1 = 3 - 2): the cheaper (1) wins, not the first max
    # unit 1: arms 0 and 2 tie at λ = 1, arm 1 is below: the cheaper (0)
    # unit 2: exact duplicates 1 and 2: the first
    value = np.array([[0.0, 2.0, 3.0], [1.0, 1.5, 3.0], [0.0, 2.0, 2.0]])
    cost = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [0.0, 1.0, 1.0]])
    want = np.array([1, 0, 1])
    np.testing.assert_array_equal(lagrangian_argmax(value, cost, 1.0), want)
    got = lagrangian_argmax_torch(torch.tensor(value), torch.tensor(cost), 1.0)
    np.testing.assert_array_equal(got.numpy(), want)


def test_budget_at_or_above_all_max_warns_and_gives_zero() -> None:
    value, cost = predictions(100, 3, 11)
    top = cost[np.arange(100), np.argmax(value, axis=1)].mean()
    for b in (top, top * 2):
        with pytest.warns(BudgetWarning, match=r"top arm"):
            assert lambda_star(value, cost, b, spend="predicted") == 0.0
    t, _, c, p = rct(value, cost, 11)
    with pytest.warns(BudgetWarning, match=r"IPW"):
        assert lambda_star(value, cost, 1e6, received=t, cost=c, propensity=p) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lambda_star(value, cost, top * 0.5, spend="predicted") > 0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"budget_per_capita": -0.1}, "budget_per_capita.*>= 0.*all-control"),
    ({"budget_per_capita": float("nan")}, "budget_per_capita.*finite"),
    ({"budget_per_capita": "1"}, "budget_per_capita.*number"),
    ({"spend": "true"}, "spend"),
    ({"spend": "ipw"}, "received"),
])
def test_bad_input_names_the_parameter(kwargs: dict, match: str) -> None:
    value, cost = predictions(20, 3, 0)
    args = {"budget_per_capita": 0.5, "spend": "predicted", **kwargs}
    with pytest.raises(UsageError, match=match):
        lambda_star(value, cost, args.pop("budget_per_capita"), **args)


def test_bad_predictions_and_lambda() -> None:
    value, cost = predictions(20, 3, 0)
    with pytest.raises(UsageError, match=r"value_pred/cost_pred"):
        lambda_star(value, cost[:, :2], 0.5, spend="predicted")
    bad = value.copy()
    bad[3, 1] = np.nan
    with pytest.raises(UsageError, match=r"value_pred.*unit 3, arm 1"):
        lambda_star(bad, cost, 0.5, spend="predicted")
    with pytest.raises(UsageError, match=r"lam.*>= 0"):
        lagrangian_argmax(value, cost, -1.0)


def test_lambda_cache_holds_the_last_lambda() -> None:
    value, cost = predictions(200, 3, 4)
    t, y, c, p = rct(value, cost, 4)
    cache = LambdaCache(0.4)
    assert cache.lam is None
    got = cache.refresh(value, cost, received=t, cost=c, propensity=p)
    assert got == cache.lam == lambda_star(value, cost, 0.4, received=t, cost=c, propensity=p)
    pred = LambdaCache(0.4, spend="predicted")
    assert pred.refresh_batch(value, cost, rct_batch(t, y, c, p)) == lambda_star(
        value, cost, 0.4, spend="predicted")
    with pytest.raises(UsageError, match=r"budget_per_capita"):
        LambdaCache(-1.0)
    with pytest.raises(UsageError, match=r"spend"):
        LambdaCache(1.0, spend="nope")  # type: ignore[arg-type]


def test_lambda_cache_on_a_subset_of_rows() -> None:
    value, cost = predictions(20_000, 4, 6)
    t, _, c, p = rct(value, cost, 6)
    full = lambda_star(value, cost, 0.5, received=t, cost=c, propensity=p)
    same = LambdaCache(0.5, max_rows=20_000)
    assert same.refresh(value, cost, received=t, cost=c, propensity=p) == full
    sub = LambdaCache(0.5, max_rows=4_000, seed=1)
    lams = [sub.refresh(value, cost, received=t, cost=c, propensity=p) for _ in range(3)]
    assert len(set(lams)) == 3  # a fresh subset each refresh
    assert all(abs(x - full) < 0.1 * full for x in lams), (lams, full)
    # the same seed gives the same subsets; a subset's λ* is lambda_star on those rows
    rows = np.sort(np.random.default_rng(1).choice(20_000, size=4_000, replace=False))
    assert lams[0] == lambda_star(value[rows], cost[rows], 0.5, received=t[rows], cost=c[rows],
                                  propensity=p[rows])
    pred = LambdaCache(0.5, spend="predicted", max_rows=4_000)
    assert abs(pred.refresh(value, cost) - lambda_star(value, cost, 0.5, spend="predicted")) < (
        0.1 * lambda_star(value, cost, 0.5, spend="predicted"))
    with pytest.raises(UsageError, match="max_rows"):
        LambdaCache(0.5, max_rows=0)


def test_numpy_scalars_are_numbers_and_bools_are_not() -> None:
    value, cost = predictions(100, 3, 12)
    want = lambda_star(value, cost, 0.5, spend="predicted")
    for b in (np.float32(0.5), np.float64(0.5)):
        assert lambda_star(value, cost, b, spend="predicted") == pytest.approx(want)
    assert lambda_star(value, cost, np.int64(0), spend="predicted") > 0
    with pytest.raises(UsageError, match="budget_per_capita"):
        lambda_star(value, cost, True, spend="predicted")  # type: ignore[arg-type]
