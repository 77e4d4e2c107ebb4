"""IFD and PIFD: their frozen gradients against a brute-force finite difference of the unrelaxed
decision loss (recomputed from scratch after each perturbation), the ranking by distance to the
decision boundary, clipping, the self-normalised form and the loss values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from learners.losses import DecisionLoss, IFDLoss, PIFDLoss
from tests.learners.losses.tiny import Tiny, tiny


def dual_value(p: Tiny, value: np.ndarray, cost: np.ndarray, lam: float,
               form: str = "ipw") -> float:
    """DDL = r̄ - λ c̄ of the policy argmax(value - λ cost), recomputed from scratch."""
    hit = np.argmax(value - lam * cost, axis=1) == p.arm
    w = hit / p.propensity
    num = float(w @ (p.outcome - lam * p.realised))
    if form == "ipw":
        return num / p.arm.size
    return num / w.sum() if w.sum() > 0 else 0.0


def primal_loss(p: Tiny, value: np.ndarray, cost: np.ndarray, lam: float) -> float:
    hit = np.argmax(value - lam * cost, axis=1) == p.arm
    return -float((hit * p.outcome / p.propensity).mean())


def flip(p: Tiny, i: int, j: int, lam: float, which: str) -> tuple[float, float] | None:
    """The smallest perturbation d * δ of one prediction that changes unit i's decision, for
    the direction d that has one: (d * δ*, the perturbed matrix's δ just past it), or None."""
    base = p.value if which == "value" else p.cost

    def decision(delta: float) -> int:
        m = base.copy()
        m[i, j] += delta
        v, c = (m, p.cost) if which == "value" else (p.value, m)
        return int(np.argmax(v[i] - lam * c[i]))

    now = decision(0.0)
    found = None
    for d in (1.0, -1.0):
        if decision(d * 1e3) == now:
            continue
        lo, hi = 0.0, 1e3
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if decision(d * mid) != now else (mid, hi)
        assert found is None, "one prediction flips a unit in at most one direction"
        found = (d * hi, d * hi * (1 + 1e-9) + d * 1e-12)
    return found


def brute_fd(p: Tiny, i: int, j: int, lam: float, which: str, loss: str,
             form: str = "ipw") -> float | None:
    """Δ(objective) / perturbation at the first flip (None: no perturbation flips the unit)."""
    f = flip(p, i, j, lam, which)
    if f is None:
        return None
    step, past = f
    v, c = p.value.copy(), p.cost.copy()
    (v if which == "value" else c)[i, j] += past
    if loss == "dual":
        return (dual_value(p, v, c, lam, form) - dual_value(p, p.value, p.cost, lam, form)) / step
    return (primal_loss(p, v, c, lam) - primal_loss(p, p.value, p.cost, lam)) / step


def runner_up_is_received(p: Tiny, i: int, lam: float) -> bool:
    a = p.value[i] - lam * p.cost[i]
    order = np.argsort(-a)
    return bool(order[1] == p.arm[i])


@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("form", ["ipw", "snipw"])
def test_ifd_gradient_is_the_brute_force_finite_difference(m: int, seed: int, form: str) -> None:
    p = tiny(10, m, seed)
    lam = 0.4
    v, c = p.tensors()
    fd = IFDLoss([lam], clip=None, form=form, eps=1e-9).finite_difference(v, c, p.batch, lam)
    checked = 0
    for which, g in (("value", fd.d_value.numpy()), ("cost", fd.d_cost.numpy())):
        for i, j in zip(*np.nonzero(g), strict=True):
            bf = brute_fd(p, int(i), int(j), lam, which, "dual", form)
            assert bf is not None, (which, i, j)
            if bf == 0.0:
                # the one case IFD (as the paper and the code) assumes a flip it does not get:
                # lowering a mismatched unit's chosen arm lands on a third arm first
                mismatched = np.argmax(p.value[i] - lam * p.cost[i]) != p.arm[i]
                assert m > 2 and mismatched and j != p.arm[i]
                assert not runner_up_is_received(p, int(i), lam)
                continue
            assert np.sign(g[i, j]) == np.sign(bf), (which, i, j, g[i, j], bf)
            np.testing.assert_allclose(g[i, j], bf, rtol=1e-5)
            checked += 1
    assert checked >= 10 * 2


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("seed", [3, 4, 5])
def test_ifd_loss_gradient_descends_the_decision_loss(m: int, seed: int) -> None:
    """The autograd gradient of the surrogate is minus the frozen ∂DDL (loss = -DDL)."""
    p = tiny(8, m, seed)
    v, c = p.tensors()
    loss = IFDLoss([0.2, 0.9], clip=None)
    out = loss(v, c, p.batch)
    out.backward()
    want_v = sum(-loss.finite_difference(v, c, p.batch, lam).d_value for lam in (0.2, 0.9))
    want_c = sum(-loss.finite_difference(v, c, p.batch, lam).d_cost for lam in (0.2, 0.9))
    assert v.grad is not None and c.grad is not None
    torch.testing.assert_close(v.grad, want_v)
    torch.testing.assert_close(c.grad, want_c)
    # its value is the unrelaxed dual decision loss
    want = -sum(dual_value(p, p.value, p.cost, lam) for lam in (0.2, 0.9))
    assert float(out.detach()) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_pifd_gradient_has_the_sign_of_the_brute_force_difference(seed: int) -> None:
    lam = 0.3
    for m in (2, 3, 4):
        p = tiny(10, m, seed)
        v, c = p.tensors()
        loss = PIFDLoss(lam=lam)
        g, value, got_lam = loss.finite_difference(v, c, p.batch)
        assert got_lam == lam
        assert float(value) == pytest.approx(primal_loss(p, p.value, p.cost, lam), rel=1e-12)
        loss(v, c, p.batch).backward()
        assert v.grad is not None
        for i in range(10):
            t = int(p.arm[i])
            bf = brute_fd(p, i, t, lam, "value", "primal")
            assert bf is not None and bf != 0.0
            # Algorithm 3's g on the received arm is exactly the finite difference of L_DL
            np.testing.assert_allclose(float(g[i, t]), bf, rtol=1e-5)
            # and the surrogate's gradient on r̂ has its sign (any number of arms)
            assert np.sign(float(v.grad[i, t])) == np.sign(bf), (m, i)
            if m == 2:
                # with two arms, on the other arm too
                o = 1 - t
                bo = brute_fd(p, i, o, lam, "value", "primal")
                assert bo is not None
                assert np.sign(float(v.grad[i, o])) == np.sign(bo), (m, i, o)


@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("seed", [5, 6])
def test_pifd_g_is_the_finite_difference_on_its_whole_support(m: int, seed: int) -> None:
    """Algorithm 3's h_ij is the margin of a_ij = r̂_ij - λ ĉ_ij: every non-zero g_ij is the
    brute-force difference quotient of L_DL in r̂_ij at the flip (the same exception as IFD)."""
    lam = 0.3
    p = tiny(10, m, seed)
    v, c = p.tensors()
    g = PIFDLoss(lam=lam).finite_difference(v, c, p.batch)[0].numpy()
    rows = set()
    for i, j in zip(*np.nonzero(g), strict=True):
        bf = brute_fd(p, int(i), int(j), lam, "value", "primal")
        assert bf is not None
        if bf == 0.0:
            assert m > 2 and j != p.arm[i] and not runner_up_is_received(p, int(i), lam)
            continue
        np.testing.assert_allclose(g[i, j], bf, rtol=1e-5)
        rows.add(int(i))
    assert len(rows) == 10
    # a matched unit carries a gradient on every arm, a mismatched one on two
    matched = np.argmax(p.value - lam * p.cost, axis=1) == p.arm
    np.testing.assert_array_equal((g != 0).sum(axis=1), np.where(matched, m, 2))


def boundary_problem(matched: bool) -> Tiny:
    """Two arms, equal rewards and propensities, units at increasing distance to the boundary."""
    n = 8
    gap = np.array([0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.8, 1.2])
    rng = np.random.default_rng(0)
    perm = rng.permutation(n)
    gap = gap[perm]
    value = np.zeros((n, 2))
    value[:, 1] = gap  # arm 1 preferred by `gap` at λ = 0 (costs 0)
    arm = np.ones(n, dtype=np.int64) if matched else np.zeros(n, dtype=np.int64)
    return Tiny(value=value, cost=np.zeros((n, 2)), arm=arm, outcome=np.ones(n),
                realised=np.zeros(n), propensity=np.full(n, 0.5))


@pytest.mark.parametrize("matched", [True, False])
def test_gradient_magnitude_ranks_units_nearest_the_boundary_first(matched: bool) -> None:
    p = boundary_problem(matched)
    gap = p.value[:, 1]
    nearest_first = np.argsort(gap)
    v, c = p.tensors()
    fd = IFDLoss([0.0], clip=None).finite_difference(v, c, p.batch, 0.0)
    mag = np.abs(fd.d_value.numpy()[np.arange(8), p.arm])
    np.testing.assert_array_equal(np.argsort(-mag), nearest_first)
    v, c = p.tensors()
    PIFDLoss(lam=0.0)(v, c, p.batch).backward()
    assert v.grad is not None
    mag = np.abs(v.grad.numpy()[np.arange(8), p.arm])
    np.testing.assert_array_equal(np.argsort(-mag), nearest_first)


def test_fix_clipping_keeps_only_perturbations_below_h() -> None:
    p = boundary_problem(matched=True)
    gap = p.value[:, 1]
    v, c = p.tensors()
    h = 0.3
    clipped = IFDLoss([0.0], clip="fix", h=h).finite_difference(v, c, p.batch, 0.0)
    raw = IFDLoss([0.0], clip=None).finite_difference(v, c, p.batch, 0.0)
    g = clipped.d_value.numpy()[np.arange(8), p.arm]
    g_raw = raw.d_value.numpy()[np.arange(8), p.arm]
    near = gap < h
    assert (g[~near] == 0).all()
    assert (g[near] != 0).all()
    np.testing.assert_allclose(g[near], g_raw[near] * (gap[near] + 1e-6) / h, rtol=1e-9)
    assert (np.sign(g[near]) == np.sign(g_raw[near])).all()
    # PIFD with the same clipping
    pg, _, _ = PIFDLoss(lam=0.0, clip="fix", h=h).finite_difference(v, c, p.batch)
    pg_t = pg.numpy()[np.arange(8), p.arm]
    assert (pg_t[~near] == 0).all() and (pg_t[near] != 0).all()


def test_ifd_cost_gradient_flag_and_fixed_costs() -> None:
    p = tiny(12, 3, 7)
    v, c = p.tensors()
    IFDLoss([0.5], clip=None, cost_gradient=False)(v, c, p.batch).backward()
    assert c.grad is None or float(c.grad.abs().sum()) == 0.0
    assert v.grad is not None and float(v.grad.abs().sum()) > 0
    # fixed per-arm costs: cost_pred None gives the same r̂ gradient as the broadcast costs
    arm_costs = np.array([0.0, 0.7, 1.3])
    q = Tiny(p.value, np.tile(arm_costs, (12, 1)), p.arm, p.outcome, p.realised, p.propensity)
    v1, c1 = q.tensors()
    IFDLoss([0.5], clip=None)(v1, c1, q.batch).backward()
    v2, _ = q.tensors()
    IFDLoss([0.5], clip=None, fixed_costs=arm_costs)(v2, None, q.batch).backward()
    assert v1.grad is not None and v2.grad is not None
    torch.testing.assert_close(v1.grad, v2.grad)


def test_decision_loss_equals_the_pifd_value_at_the_same_lambda() -> None:
    p = tiny(30, 4, 8)
    v, c = p.tensors()
    d = DecisionLoss(lam=0.25)(v, c, p.batch)
    assert not d.requires_grad
    assert float(d) == pytest.approx(primal_loss(p, p.value, p.cost, 0.25), rel=1e-12)
    assert float(PIFDLoss(lam=0.25)(v, c, p.batch).detach()) == pytest.approx(float(d), rel=1e-12)
