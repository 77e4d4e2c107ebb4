"""Qini and uplift curves: a hand example, random ~ 0, the oracle ranking = 1."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.uplift_curves import qini_curve, uplift_curve
from formulations.errors import UsageError

# Ranked by score (6..1):  t = T C T C T C,  y = 1 0 0 1 1 0
#  k  N_T N_C Y_T Y_C   Q = Y_T - Y_C N_T/N_C    U = (Y_T/N_T - Y_C/N_C) k
#  1   1   0   1   0     1                        (1 - 0) 1 = 1
#  2   1   1   1   0     1                        (1 - 0) 2 = 2
#  3   2   1   1   0     1                        (1/2 - 0) 3 = 3/2
#  4   2   2   1   1     1 - 1 = 0                (1/2 - 1/2) 4 = 0
#  5   3   2   2   1     2 - 3/2 = 1/2            (2/3 - 1/2) 5 = 5/6
#  6   3   3   2   1     2 - 1 = 1                (2/3 - 1/3) 6 = 2
# Qini area (trapezoids, unit steps): 1/2 + 1 + 1 + 1/2 + 1/4 + 3/4 = 4; random: 6 * 1 / 2 = 3.
# Oracle score y (2t - 1): units 0, 4 -> 1; 1, 2, 5 -> 0; 3 -> -1; points at k = 2, 5, 6:
#   k=2: Q = 2; k=5: N_T 3, N_C 2, Y_T 2, Y_C 0 -> 2; k=6: 2 - 1 * 3/3 = 1
#   area = (0+2)/2 * 2 + (2+2)/2 * 3 + (2+1)/2 * 1 = 9.5 -> coefficient (4-3)/(9.5-3) = 2/13
T = np.array([True, False, True, False, True, False])
Y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
S = np.array([6.0, 5.0, 4.0, 3.0, 2.0, 1.0])


def test_hand_qini() -> None:
    q = qini_curve(T, Y, S)
    assert q.n_targeted.tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert q.values == pytest.approx([0, 1, 1, 1, 0, 0.5, 1])
    assert q.area == pytest.approx(4.0)
    assert q.random_area == pytest.approx(3.0)
    assert q.perfect_area == pytest.approx(9.5)
    assert q.coefficient == pytest.approx(2.0 / 13.0)
    assert q.fraction[-1] == 1.0 and q.n == 6


def test_hand_uplift_curve() -> None:
    u = uplift_curve(T, Y, S)
    assert u.values == pytest.approx([0, 1, 2, 1.5, 0, 5.0 / 6.0, 2])
    assert u.area == pytest.approx(0.5 + 1.5 + 1.75 + 0.75 + 5.0 / 12.0 + (5.0 / 6.0 + 2) / 2)
    assert u.random_area == pytest.approx(6.0)


def test_ties_move_together() -> None:
    q = qini_curve(T, Y, np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0]))
    assert q.n_targeted.tolist() == [0, 2, 6]
    assert q.values == pytest.approx([0.0, 1.0, 1.0])


def test_random_scores_near_zero_and_oracle_is_one() -> None:
    rng = np.random.default_rng(1)
    n = 40_000
    t = rng.random(n) < 0.5
    tau = rng.uniform(0, 0.3, n)
    y = rng.binomial(1, 0.1 + t * tau).astype(float)
    for make in (qini_curve, uplift_curve):
        coefs = [make(t, y, rng.normal(size=n)).coefficient for _ in range(5)]
        assert np.all(np.abs(coefs) < 0.05)
        assert make(t, y, tau).coefficient > 0.1  # the true uplift ranks well
        assert make(t, y, y * np.where(t, 1.0, -1.0)).coefficient == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.array([1, 1]), np.ones(2), np.ones(2)), "both treated and control"),
        ((np.array([0, 3]), np.ones(2), np.ones(2)), "binary"),
        ((np.array([0, 1]), np.ones(2), np.ones(3)), "score: expected 2 entries"),
    ],
)
def test_bad_input(args: tuple, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        qini_curve(*args)
