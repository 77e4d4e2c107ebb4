"""The λ path: against brute-force argmax on a λ grid, the event list, the budget rule."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.lambda_path import lambda_for_budget, lambda_path
from formulations.errors import UsageError


def _random_predictions(seed: int, n: int = 30, m: int = 4, sorted_cost: bool = False):
    rng = np.random.default_rng(seed)
    vp = rng.normal(size=(n, m))
    cp = rng.uniform(0.0, 2.0, (n, m))
    if sorted_cost:
        cp = np.sort(cp, axis=1)
    return vp, cp


def _grid_away_from(breakpoints: np.ndarray, hi: float, k: int = 1500) -> np.ndarray:
    grid = np.linspace(0.0, hi, k)
    if breakpoints.size == 0:
        return grid
    gap = np.min(np.abs(grid[:, None] - breakpoints[None, :]), axis=1)
    return grid[gap > 1e-7]


@pytest.mark.parametrize("seed", range(8))
def test_path_equals_brute_force_argmax_on_a_lambda_grid(seed: int) -> None:
    m = 1 + seed % 5
    vp, cp = _random_predictions(seed, m=m, sorted_cost=seed % 2 == 0)
    path = lambda_path(vp, cp)
    rng = np.random.default_rng(100 + seed)
    t = rng.integers(0, m, vp.shape[0])
    a = rng.normal(size=vp.shape[0])
    f = rng.normal(size=vp.shape)
    received_steps = path.received_step_values(t, a)
    dense_steps = path.step_values(f)
    hi = 1.5 * float(path.breakpoints[0]) if path.breakpoints.size else 1.0
    grid = _grid_away_from(path.breakpoints, hi)
    assert grid.size > 1000
    rows = np.arange(vp.shape[0])
    for lam in grid:
        brute = np.argmax(vp - lam * cp, axis=1)
        assert np.array_equal(path.chosen_at(lam), brute), lam
        s = int(path.step_at(lam))
        assert received_steps[s] == pytest.approx(a[brute == t].sum(), abs=1e-12)
        assert dense_steps[s] == pytest.approx(f[rows, brute].sum(), abs=1e-12)
    # above every breakpoint: the cheapest option; at 0: the most valuable
    assert np.array_equal(path.start, np.argmin(cp, axis=1))
    assert np.array_equal(path.chosen(path.n_steps - 1), np.argmax(vp, axis=1))


def test_events_replay_the_steps_in_lambda_order() -> None:
    vp, cp = _random_predictions(3, n=60, m=5)
    path = lambda_path(vp, cp)
    ev = path.events
    assert np.all(np.diff(ev.lam) <= 0)
    assert np.array_equal(np.unique(ev.lam)[::-1], path.breakpoints)
    assert np.all(ev.lam == path.breakpoints[ev.step - 1])
    current = path.start.copy()
    for s in range(1, path.n_steps):
        sel = ev.step == s
        assert np.array_equal(current[ev.unit[sel]], ev.from_option[sel])
        current[ev.unit[sel]] = ev.to_option[sel]
        assert np.array_equal(current, path.chosen(s))
    # every event moves to a costlier, more valuable option at λ = Δvalue / Δcost
    dv = vp[ev.unit, ev.to_option] - vp[ev.unit, ev.from_option]
    dc = cp[ev.unit, ev.to_option] - cp[ev.unit, ev.from_option]
    assert np.all(dc > 0) and np.all(dv > 0)
    assert np.allclose(dv / dc, ev.lam)


def test_hand_computed_path() -> None:
    # unit 0: options (cost, value) (0,0) (1,3) (2,4): increments of efficiency 3 then 1
    # unit 1: (0,0) (1,0.5) (3,5): option 1 lies below the chord (0,0)-(3,5) (slope 5/3), so
    #         one increment 0 -> 2 at 5/3
    # unit 2: option 2 (cost 1, value 2) is as cheap as option 1 and worth more: 0 -> 2 at 2
    vp = np.array([[0.0, 3.0, 4.0], [0.0, 0.5, 5.0], [0.0, 1.0, 2.0]])
    cp = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 3.0], [0.0, 1.0, 1.0]])
    path = lambda_path(vp, cp)
    assert path.breakpoints == pytest.approx([3.0, 2.0, 5.0 / 3.0, 1.0])
    ev = path.events
    assert ev.unit.tolist() == [0, 2, 1, 0]
    assert ev.from_option.tolist() == [0, 0, 0, 1]
    assert ev.to_option.tolist() == [1, 2, 2, 2]
    assert path.chosen_steps(np.arange(5)).tolist() == [
        [0, 0, 0], [1, 0, 0], [1, 0, 2], [1, 2, 2], [2, 2, 2]]
    # λ* of a step is the breakpoint below it; the hull rule (eff > λ) at λ* gives the step
    assert path.lam_of_step(np.arange(5)) == pytest.approx([3.0, 2.0, 5.0 / 3.0, 1.0, 0.0])
    assert path.step_at(np.array([3.0, 2.5, 2.0, 0.0])).tolist() == [0, 1, 1, 4]


def test_equal_lambda_events_form_one_step() -> None:
    vp = np.array([[0.0, 2.0], [0.0, 4.0], [0.0, 1.0]])
    cp = np.array([[0.0, 1.0], [0.0, 2.0], [0.0, 1.0]])  # units 0 and 1 both at λ = 2
    path = lambda_path(vp, cp)
    assert path.breakpoints.tolist() == [2.0, 1.0]
    assert path.chosen(1).tolist() == [1, 1, 0]


def _path4():
    # four units with one increment each, efficiencies 3, 2, 1, 0.5 -> steps 0..4
    vp = np.array([[0.0, 3.0], [0.0, 2.0], [0.0, 1.0], [0.0, 0.5]])
    cp = np.array([[0.0, 1.0]] * 4)
    return lambda_path(vp, cp)


def test_budget_rule_on_a_non_monotone_spend() -> None:
    path = _path4()
    spend = np.array([0.0, 0.5, 0.2, 0.8, 0.6])
    m = lambda_for_budget(path, spend, np.array([0.1, 0.3, 0.55, 0.7, 0.9, -0.1]))
    # 0.1: step 1 (0.5) already exceeds -> step 0, λ* = e_1 = 3
    # 0.3: the same (the walk stops at the first exceeding breakpoint, though step 2 fits)
    # 0.55: steps 1, 2 fit, step 3 (0.8) exceeds -> step 2, λ* = e_3 = 1
    # 0.7: the λ = 0 policy (0.6) fits -> step 4, λ* = 0 (even though step 3 spends 0.8)
    # 0.9: step 4; -0.1: nothing fits, step 0 and fits = False
    assert m.step.tolist() == [0, 0, 2, 4, 4, 0]
    assert m.lam.tolist() == [3.0, 3.0, 1.0, 0.0, 0.0, 3.0]
    assert m.spend.tolist() == [0.0, 0.0, 0.2, 0.6, 0.6, 0.0]
    assert m.fits.tolist() == [True, True, True, True, True, False]


def test_nan_spend_counts_as_over_budget() -> None:
    path = _path4()
    m = lambda_for_budget(path, np.array([0.0, 0.1, np.nan, 0.3, 0.4]), np.array([0.35]))
    assert m.step.tolist() == [1]


def test_single_option_and_dominated_units_never_move() -> None:
    path = lambda_path(np.array([[1.0], [2.0]]), np.array([[0.5], [0.0]]))
    assert path.n_steps == 1 and path.events.lam.size == 0
    assert lambda_for_budget(path, np.array([0.5]), np.array([1.0, 0.1])).fits.tolist() == [
        True, False]
    dominated = lambda_path(np.array([[1.0, 0.5]]), np.array([[0.0, 1.0]]))
    assert dominated.n_steps == 1 and dominated.chosen(0).tolist() == [0]


@pytest.mark.parametrize(
    ("vp", "cp", "match"),
    [
        (np.zeros((3, 2)), np.zeros((3, 3)), "same shape"),
        (np.zeros(3), np.zeros(3), "same shape"),
        (np.array([[0.0, np.nan]]), np.zeros((1, 2)), r"value_pred: .*nan.* unit 0, arm 1"),
        (np.zeros((2, 2)), np.array([[0.0, 1.0], [np.inf, 0.0]]), "cost_pred: .*unit 1, arm 0"),
    ],
)
def test_bad_predictions_are_clear_errors(vp: np.ndarray, cp: np.ndarray, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        lambda_path(vp, cp)


def test_bad_step_function_inputs_are_errors() -> None:
    path = _path4()
    with pytest.raises(UsageError, match=r"spend: expected one value per step \(5,\)"):
        lambda_for_budget(path, np.zeros(4), np.array([1.0]))
    with pytest.raises(UsageError, match="f: expected shape"):
        path.step_values(np.zeros((4, 3)))
    with pytest.raises(UsageError, match=r"steps: expected values in 0\.\.4"):
        path.chosen_steps(np.array([5]))
