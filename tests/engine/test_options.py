"""Options are validated: each backend declares its options (a frozen dataclass); an unknown or
mistyped option is a one-line error naming it and listing the accepted ones; ``--gap`` reaches
the dual (before, about 28 keys were read with ``options.get``, unknown ones ignored, and the
dual read ``tol`` so that ``--gap`` did nothing)."""

from __future__ import annotations

import dataclasses

import pytest

from engine.registry import BACKENDS, available_solvers, get_backend
from engine.solve import solve
from formulations.errors import UsageError
from formulations.synthetic import synthetic_instance
from tests.engine.test_conformance import ka_one_budget
from treatalloc.cli import main


@pytest.mark.parametrize("solver", sorted(BACKENDS))
def test_every_backend_refuses_an_unknown_option_naming_it(solver: str) -> None:
    if solver not in available_solvers():
        pytest.skip(f"{solver} is not installed")
    inst, _ = ka_one_budget()
    with pytest.raises(UsageError) as e:
        solve(inst, solver, options={"gpa": 1e-3})
    text = str(e.value)
    assert "'gpa'" in text and "accepted:" in text and "progress" in text
    assert "\n" not in text
    # the accepted list is the backend's own dataclass
    names = [f.name for f in dataclasses.fields(get_backend(solver).options_type)]
    assert all(n in text for n in names)


@pytest.mark.parametrize("solver, key, value, expected", [
    ("highs", "threads", "two", "an integer"),
    ("highs", "gap", True, "a number"),
    ("highs", "log", 1, "true or false"),
    ("dual", "selection", "fast", "one of ['bracket', 'sort']"),
    ("dual", "max_iter", 2.5, "an integer"),
    ("ortools", "gap", -1.0, "> 0"),
])
def test_a_mistyped_option_names_the_key_and_what_was_expected(solver, key, value,
                                                               expected) -> None:
    inst, _ = ka_one_budget()
    with pytest.raises(UsageError, match=f"option '{key}'") as e:
        solve(inst, solver, options={key: value})
    assert expected in str(e.value)


def test_the_dual_no_longer_reads_tol_and_gap_reaches_it() -> None:
    inst = synthetic_instance(3000, 6, 3, seed=2)
    with pytest.raises(UsageError, match="'tol'"):
        solve(inst, "dual", options={"tol": 1e-3})
    loose = solve(inst, "dual", options={"gap": 5e-2, "polish": False})
    tight = solve(inst, "dual", options={"gap": 1e-7, "polish": False})
    assert loose.detail["iterations"] < tight.detail["iterations"]
    assert loose.gap is not None and loose.gap <= 5e-2


def test_cli_gap_and_unknown_option_errors(capsys) -> None:
    from tests.conftest import INSTANCES

    demo = str(INSTANCES / "demo")
    assert main(["solve", demo, "--solver", "dual", "-O", "tol=0.1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'tol'" in err[0] and "gap" in err[0]
    assert main(["solve", demo, "--solver", "greedy", "--gap", "0.1"]) == 2
    assert "'gap'" in capsys.readouterr().err
