"""The repository's instances through every exact backend other than highs (tests/engine/
test_validate.py covers highs): proven optima are reproduced, and no bound undercuts a recorded
best-known value. Small instances run by default; the rest are marked slow."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.registry import get_backend
from engine.solve import solve
from formulations import load_instance
from tests.conftest import INSTANCES

SOLVERS = ["ortools", "ortools-cpsat", "pyomo"]
SMALL_ROWS = 600  # up to here every backend took about 1 s or less per instance on 2 cores


def manifests() -> list[Path]:
    return sorted(INSTANCES.glob("*/instance.toml"))


def cases() -> list[object]:
    out: list[object] = []
    for path in manifests():
        inst = load_instance(path)
        if inst.reference is None or inst.n_rows > 20_000:
            continue
        small = inst.reference.proven and inst.n_rows <= SMALL_ROWS
        for solver in SOLVERS:
            marks = () if small else (pytest.mark.slow,)
            out.append(pytest.param(path, solver, marks=marks, id=f"{path.parent.name}-{solver}"))
    return out


def scalable(inst: object, solver: str) -> bool:
    from engine.backends.ortools_cpsat import power_of_ten_scale

    if not get_backend(solver).capabilities.integral_data_only:
        return True
    return all(power_of_ten_scale(a)[0] for a in (inst.value, *inst.costs))  # type: ignore[attr-defined]


@pytest.mark.parametrize(("path", "solver"), cases())
def test_repository_instance(path: Path, solver: str) -> None:
    inst = load_instance(path)
    ref = inst.reference
    assert ref is not None
    if not scalable(inst, solver):
        pytest.skip(f"{solver} takes integral data only; {path.parent.name} is fractional")
    res = solve(inst, solver, time_limit=120)
    tol = 1e-6 * max(1.0, abs(ref.objective))
    if ref.proven:
        assert res.status == "optimal", res
        assert res.objective == pytest.approx(ref.objective, rel=1e-6, abs=1e-6)
    else:
        assert res.bound is not None and res.bound >= ref.objective - tol
        if res.status == "optimal":
            assert res.objective is not None and res.objective >= ref.objective - tol
