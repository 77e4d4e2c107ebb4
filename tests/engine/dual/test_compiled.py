"""The compiled kernels (engine/dual/compiled.py, numba) against the numpy kernels: the same bits.

Random chunks with ties, equal costs, unusable cells, rows out of cost order and budgets from
"nothing fits" to "everything fits", so that the compact hull, its fallbacks and every kernel
are compared with the numpy reference element for element.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.dual import compiled
from engine.dual.arrays import DualArrays, flush_subnormal
from engine.dual.improve import fill
from engine.dual.kernels import lagrangian_choice, sorted_choice_at, upper_hulls
from engine.dual.one_budget import solve_one_budget
from engine.dual.select import select_critical

pytestmark = pytest.mark.skipif(not compiled.installed(),
                                reason="numba is not installed (the optional 'fast' extra)")


def _chunk(seed: int, n: int, m: int, *, sort: bool, holes: bool) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    digits = int(rng.integers(0, 3))  # 0 digits: many exact ties
    value = np.round(rng.uniform(0, 10, (n, m)), digits)
    cost = np.round(rng.uniform(0, 5, (n, m)), digits)
    if sort:
        cost = np.sort(cost, axis=1)
    valid = None
    if holes:
        valid = rng.random((n, m)) > 0.25
        valid[:, 0] = True
        value = np.where(valid, value, -np.inf)
    return value, cost, valid


def _both(monkeypatch: pytest.MonkeyPatch, fn):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(compiled.ENV, "0")
    ref = fn()
    monkeypatch.setenv(compiled.ENV, "1")
    return ref, fn()


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray)
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, float):
        return isinstance(b, float) and (a == b or (np.isnan(a) and np.isnan(b)))
    return a == b


@pytest.mark.parametrize("seed", range(12))
def test_hulls_and_choice_are_bit_identical(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # more rows than one block (kernels.BLOCK_ROWS) so that sorted and unsorted blocks mix
    value, cost, valid = _chunk(seed, 20_000 if seed % 3 else 40_000, 2 + seed % 6,
                                sort=seed % 2 == 0, holes=seed % 4 == 1)
    if seed % 6 == 3:
        cost[:20_000] = np.sort(cost[:20_000], axis=1)  # the first block sorted, the rest not
    ref, got = _both(monkeypatch, lambda: upper_hulls(value, cost, valid, keep_value=seed % 2 == 1))
    for f in ("order", "start", "d_value", "d_cost", "efficiency", "start_value", "start_cost"):
        a, b = getattr(ref, f), getattr(got, f)
        assert (a is None and b is None) or _same(a, b), f
    for lam in (0.0, 0.5, 2.0, float(np.median(ref.efficiency[ref.efficiency > -np.inf]))):
        r, g = _both(monkeypatch, lambda lam=lam: sorted_choice_at(ref, lam))
        assert _same(r, g)
    w = ref.d_cost
    for frac in (0.0, 0.1, 0.5, 0.9, 1.5):
        budget = frac * float(w.sum())
        r, g = _both(monkeypatch, lambda b=budget: select_critical(ref.efficiency, w, None, b))
        assert r.lam == g.lam and r.critical == g.critical and _same(r.taken, g.taken)
        assert r.cost_taken == g.cost_taken and r.value_taken == g.value_taken


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("frac", [0.0, 0.05, 0.3, 0.7, 1.0, 1.2])
def test_one_budget_solution_is_bit_identical(
    seed: int, frac: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    n, m = 25_000, 2 + seed % 7
    value, cost, valid = _chunk(seed, n, m, sort=seed % 5 != 4, holes=seed % 3 == 2)
    c = np.where(valid, cost, 0.0) if valid is not None else cost
    # the limit between the cheapest spend and (frac > 1) more than the all-max spend
    least = float(np.where(valid, cost, np.inf).min(axis=1).sum()) if valid is not None else \
        float(cost.min(axis=1).sum())
    top = float(c.max(axis=1).sum())
    limit = least + frac * (top - least)
    arr = DualArrays(value=value, costs=c[None], valid=valid, limits=np.array([limit]),
                     row_names=("b",), n_budgets=1, null_column=None)
    ref, got = _both(monkeypatch, lambda: solve_one_budget(arr))
    assert ref.feasible == got.feasible
    assert ref.cols is not None and got.cols is not None
    assert _same(ref.cols, got.cols)
    for f in ("objective", "bound", "lam", "lp_value"):
        assert getattr(ref, f) == getattr(got, f), f
    key = np.where(valid, cost, np.inf) if valid is not None else cost
    sorted_rows = bool(np.all(key[:, 1:] >= key[:, :-1]))
    # the compact hull is used where every row is in cost order and not all increments fit
    # (then the multiplier is positive)
    assert got.info["hull"] == ("compact" if sorted_rows and ref.lam > 0 else "stored")
    assert ref.info["hull"] == "stored"


def test_fill_with_several_rows_is_bit_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    n, m, k = 30_000, 5, 3
    value = np.round(rng.uniform(0, 10, (n, m)), 1)
    costs = np.round(rng.uniform(0, 5, (k, n, m)), 1)
    valid = rng.random((n, m)) > 0.2
    valid[:, 0] = True
    value = np.where(valid, value, -np.inf)
    costs[:, :, 0] = 0.0
    cols = np.zeros(n, dtype=np.int64)
    limits = 0.2 * costs.max(axis=2).sum(axis=1)
    arr = DualArrays(value=value, costs=costs, valid=valid, limits=limits,
                     row_names=("a", "b", "c"), n_budgets=3, null_column=None)
    lam = np.array([0.3, 0.1, 0.2])

    def run() -> tuple[np.ndarray, float]:
        stats: dict[str, float] = {}
        out = fill(arr, cols, weights=lam, bound_lam=lam, stats=stats)
        return out, stats["lagrangian"]

    (c0, l0), (c1, l1) = _both(monkeypatch, run)
    assert _same(c0, c1) and l0 == l1
    assert np.count_nonzero(c0) > 0  # the fill did move units
    assert arr.objective(c0) == arr.objective(c1)
    u0, u1 = _both(monkeypatch, lambda: arr.usage(c0))
    assert _same(u0, u1)


@pytest.mark.parametrize("seed", range(4))
def test_repair_with_several_rows_is_bit_identical(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.dual.improve import downgrade_scores, repair

    rng = np.random.default_rng(seed)
    n, m, k = 30_000, 2 + seed, 3
    value = rng.uniform(0, 10, (n, m))
    costs = rng.uniform(0, 5, (k, n, m))
    if seed % 2:  # ties and holes
        value, costs = np.round(value, 0), np.round(costs, 0)
        valid = rng.random((n, m)) > 0.2
        valid[:, 0] = True
        value = np.where(valid, value, -np.inf)
    else:
        valid = None
    costs[:, :, 0] = 0.0
    cols = np.argmax(value, axis=1)
    used = costs[:, np.arange(n), cols].sum(axis=1)
    # two rows over their limit, one with a little room
    limits = used * np.array([0.7, 0.9, 1.0 + 1e-3])
    arr = DualArrays(value=value, costs=costs, valid=valid, limits=limits,
                     row_names=("a", "b", "c"), n_budgets=3, null_column=None)
    excess = used - limits
    w = np.where(excess > 0, [0.3, 0.1, 0.2], 0.0)
    r, g = _both(monkeypatch, lambda: downgrade_scores(arr, cols, w, excess))
    assert all(_same(x, y) for x, y in zip(r, g, strict=True))
    assert np.isfinite(r[0]).sum() > n // 2  # most units have a move
    r, g = _both(monkeypatch, lambda: repair(arr, cols, weights=np.array([0.3, 0.1, 0.2])))
    assert _same(r, g) and np.all(arr.limits - arr.usage(r) >= 0)


def test_subnormal_check(monkeypatch: pytest.MonkeyPatch) -> None:
    a = np.ones((100, 3))
    assert flush_subnormal(a) is a
    a[7, 1] = 1e-310
    r, g = _both(monkeypatch, lambda: flush_subnormal(a))
    assert g[7, 1] == 0.0 and _same(r, g)


def test_switch_turns_the_compiled_kernels_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(compiled.ENV, "0")
    assert compiled.kernels() is None
    monkeypatch.setenv(compiled.ENV, "1")
    assert compiled.kernels() is not None


def test_auto_turns_on_at_the_first_large_array(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(compiled.ENV, raising=False)
    monkeypatch.setattr(compiled, "_module", None)
    assert compiled.kernels(1000) is None
    assert compiled.kernels(compiled.AUTO_CELLS) is not None
    assert compiled.kernels(1000) is not None  # on for the rest of the process


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("tie", ["low", "high"])
@pytest.mark.parametrize("whole", [True, False])
def test_lagrangian_choice_is_bit_identical(
    k: int, tie: str, whole: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(k)
    n, m = 40_000, 6
    value = np.round(rng.uniform(0, 10, (n, m)), 0)  # ties
    value[rng.random((n, m)) < 0.1] = -np.inf
    value[7] = -np.inf  # a unit with no usable cell: left out of the sums
    # whole costs make ties; fractional ones make the sums depend on their order
    costs = rng.uniform(0, 5, (k, n, m))
    if whole:
        costs = np.round(costs, 0)
    for lam in (np.zeros(k), np.full(k, 0.5), rng.uniform(0, 2, k)):
        r, g = _both(monkeypatch, lambda lam=lam: lagrangian_choice(value, costs, lam, tie=tie))
        assert _same(r.index, g.index) and _same(r.spend, g.spend)
        assert r.value == g.value and r.lagrangian == g.lagrangian


@pytest.mark.parametrize("seed", range(6))
def test_row_alone_multiplier_is_the_same(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.dual.multi_budget import _row_alone_multiplier

    rng = np.random.default_rng(seed)
    n, m, k = 30_000, 6, 3
    value, _, valid = _chunk(seed, n, m, sort=True, holes=seed % 2 == 1)
    base = np.sort(np.round(rng.uniform(0, 5, (n, m)), seed % 3), axis=1)
    costs = np.stack([base * (1.0 + 0.5 * r) for r in range(k)])
    if valid is not None:
        costs = np.where(valid[None], costs, 0.0)
    limits = np.array([0.05, 0.3, 2.0])[: k] * costs.max(axis=2).sum(axis=1)
    arr = DualArrays(value=value, costs=costs, valid=valid, limits=limits,
                     row_names=("a", "b", "c"), n_budgets=k, null_column=None)
    for row in range(k):
        r, g = _both(monkeypatch, lambda row=row: _row_alone_multiplier(arr, row, arr.value))
        assert r == g


def test_without_numba_the_numpy_kernels_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled, "_module", None)
    monkeypatch.setattr(compiled, "installed", lambda: False)
    monkeypatch.setenv(compiled.ENV, "1")
    assert compiled.kernels(10**9) is None
    value, cost, _ = _chunk(0, 1000, 4, sort=True, holes=False)
    h = upper_hulls(value, cost)  # the numpy kernel, no import of numba needed
    assert h.order is None and h.start.shape == (1000,)
