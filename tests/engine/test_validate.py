"""engine.validate: heuristics against the exact optimum, DataFrame conversion, bad specs."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.result import SolveResult
from engine.validate import (
    as_assignment,
    assignment_from_frame,
    find_instances,
    load_heuristic,
    rows_frame,
    validate,
)
from formulations import Reference, UsageError, from_dense, write_instance
from formulations.synthetic import synthetic_instance
from tests.conftest import INSTANCES


def brute_force(inst) -> float:
    """Exact optimum by enumeration (tiny instances only): independent of every solver."""
    d = inst.dense()
    choices = [range(-1 if inst.choose == "at-most-one" else 0, int(c)) for c in d.counts]
    best = -np.inf
    for combo in itertools.product(*choices):
        a = np.array(combo)
        picked = a >= 0
        rows = inst.offsets[:-1][picked] + a[picked]
        if np.all(inst.costs[:, rows].sum(axis=1) <= inst.limits + 1e-9):
            best = max(best, float(inst.value[rows].sum()))
    return best


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    """Three tiny instances with a recorded optimum computed by brute force."""
    root = tmp_path_factory.mktemp("instances")
    specs = [("a", 7, 3, 1, "exactly-one", 1), ("b", 6, 3, 2, "exactly-one", 2),
             ("c", 6, 3, 1, "at-most-one", 3)]
    for name, n, m, k, choose, seed in specs:
        inst = synthetic_instance(n, m, k, seed=seed, choose=choose, name=name)
        ref = Reference(brute_force(inst), True, "brute force")
        write_instance(inst.replace(reference=ref), root / name)
    return root


def priciest(inst):
    """Everyone gets the most expensive option: breaks a 30% budget."""
    d = inst.dense()
    return np.argmax(np.where(d.valid, d.costs[0], -np.inf), axis=1)


def cheapest_frame(inst):
    d = inst.dense()
    j = np.argmin(np.where(d.valid, d.costs[0], np.inf), axis=1)
    rows = inst.offsets[:-1] + j
    labels = np.asarray(inst.option_labels, dtype=object)[inst.option_codes[rows]]
    return pd.DataFrame({"unit": inst.unit_ids, "option": labels})


def test_reproduces_recorded_optima(tiny_dir):
    rows = validate(tiny_dir, ["greedy"])
    assert [r.instance for r in rows] == ["a", "b", "c"]
    for r in rows:
        assert r.reference_kind == "optimum"
        assert r.optimum == pytest.approx(r.recorded, rel=1e-9)
        assert r.feasible is True
        assert r.objective <= r.optimum + 1e-9
        assert r.gap_pct == pytest.approx(100 * (r.optimum - r.objective) / max(1, r.optimum))
        assert "differs" not in r.message


def test_infeasible_heuristic_is_flagged(tiny_dir):
    rows = validate(tiny_dir, [("priciest", priciest), "greedy"])
    by = {(r.instance, r.heuristic): r for r in rows}
    for name in "abc":
        bad = by[(name, "priciest")]
        assert bad.feasible is False and bad.failed
        assert "usage" in bad.message and "> limit" in bad.message
        assert bad.gap_pct is None
        assert by[(name, "greedy")].feasible is True


def test_dataframe_heuristic_matches_array(tiny_dir):
    rows = validate(tiny_dir, [("frame", cheapest_frame)])
    for r in rows:
        assert r.feasible is True and r.message == ""
    for f in find_instances(tiny_dir):
        from formulations import load_instance

        inst = load_instance(f)
        a = assignment_from_frame(inst, cheapest_frame(inst))
        d = inst.dense()
        expected = np.argmin(np.where(d.valid, d.costs[0], np.inf), axis=1)
        assert np.array_equal(a, expected)


def test_recorded_reference_used_when_exact_stops(tiny_dir, monkeypatch):
    import engine.validate as ev

    real = ev.solve

    def fake(instance, solver, **kw):
        if solver == "highs":
            return SolveResult(status="time_limit", solver="highs", bound=1e6)
        return real(instance, solver, **kw)

    monkeypatch.setattr(ev, "solve", fake)
    rows = validate(tiny_dir / "a", ["greedy"])
    (r,) = rows
    assert r.reference_kind == "recorded" and r.optimum == r.recorded and r.bound == 1e6
    assert r.exact_status == "time_limit"


def test_bound_used_without_recorded_reference(tmp_path, monkeypatch):
    import engine.validate as ev

    write_instance(synthetic_instance(5, 3, seed=1), tmp_path / "x")
    monkeypatch.setattr(
        ev, "solve",
        lambda inst, solver, **kw: SolveResult(status="time_limit", solver=solver, bound=100.0)
        if solver == "highs" else SolveResult(status="feasible", solver=solver,
                                              assignment=np.zeros(5, dtype=np.int64)),
    )
    (r,) = validate(tmp_path, ["greedy"])
    assert r.reference_kind == "bound" and r.optimum is None
    assert r.gap_pct == pytest.approx(100.0)  # objective 0 (control) against bound 100


def test_raising_or_invalid_heuristic_is_a_failed_row(tiny_dir):
    def boom(inst):
        raise RuntimeError("kaputt")

    def short(inst):
        return np.zeros(2, dtype=int)

    rows = validate(tiny_dir / "a", [("boom", boom), ("short", short)])
    assert rows[0].failed and "RuntimeError: kaputt" in rows[0].message
    assert rows[1].failed and "expected 7 entries" in rows[1].message


def test_frame_errors_name_the_problem():
    inst = from_dense(np.ones((3, 2)), np.ones((3, 2)), [10.0], option_labels=["a", "b"])
    ok = assignment_from_frame(inst, pd.DataFrame({"unit": [2, 0, 1], "option": ["b", "a", "b"]}))
    assert ok.tolist() == [0, 1, 1]
    # ids that come back as text (e.g. via a CSV) still match
    txt = pd.DataFrame({"unit": ["0", "1", "2"], "option": ["a", "a", "b"]})
    assert assignment_from_frame(inst, txt).tolist() == [0, 0, 1]
    cases = [
        (pd.DataFrame({"unit": [0, 1, 9], "option": ["a"] * 3}), "unknown unit 9"),
        (pd.DataFrame({"unit": [0, 1, 2], "option": ["a", "zz", "a"]}), "unknown option 'zz'"),
        (pd.DataFrame({"unit": [0, 0, 1], "option": ["a"] * 3}), "appears more than once"),
        (pd.DataFrame({"unit": [0, 1], "option": ["a"] * 2}), "1 unit(s) missing"),
        (pd.DataFrame({"unit": [0, 1, 2], "option": ["a", None, "a"]}), "has no option"),
        (pd.DataFrame({"who": [0], "what": ["a"]}), "expected columns"),
    ]
    for frame, text in cases:
        with pytest.raises(UsageError, match=text.replace("(", r"\(").replace(")", r"\)")):
            assignment_from_frame(inst, frame)


def test_frame_at_most_one_missing_is_null():
    inst = from_dense(np.ones((3, 2)), np.ones((3, 2)), [10.0], option_labels=["a", "b"],
                      choose="at-most-one")
    a = assignment_from_frame(inst, pd.DataFrame({"unit": [1, 2], "option": ["b", None]}))
    assert a.tolist() == [-1, 1, -1]
    # a unit that exists but lacks the option (ragged instances)
    with pytest.raises(UsageError, match="unknown option"):
        as_assignment(inst, pd.DataFrame({"unit": [1], "option": ["c"]}))


def test_bad_specs_are_usage_errors(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "vmod_specs.py").write_text("X = 3\ndef f(inst):\n    return None\n")
    with pytest.raises(UsageError, match="cannot import module 'no_such_mod_xyz'"):
        load_heuristic("no_such_mod_xyz:f")
    with pytest.raises(UsageError, match="has no attribute 'g'"):
        load_heuristic("vmod_specs:g")
    with pytest.raises(UsageError, match="expected a function"):
        load_heuristic("vmod_specs:X")
    with pytest.raises(UsageError, match="expected a solver name"):
        load_heuristic("nonsense")
    assert load_heuristic(f"{tmp_path / 'vmod_specs.py'}:f").name.endswith(":f")
    sys.modules.pop("vmod_specs", None)


def test_rows_frame_columns(tiny_dir):
    df = rows_frame(validate(tiny_dir / "a", ["greedy"]))
    assert list(df.columns[:11]) == [
        "instance", "path", "units", "heuristic", "objective", "optimum", "bound",
        "reference_kind", "gap_pct", "seconds", "feasible",
    ]


#: tiny instances/ entries that HiGHS proves in well under a second: run by default
QUICK = ("demo", "mknap1-00", "mmkp_example")


def _instances_with_proven_reference() -> list:
    if not INSTANCES.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason="instances/ not present"))]
    from formulations.instance_file import read_manifest

    out = []
    for f in sorted(INSTANCES.rglob("instance.toml")):
        ref = read_manifest(f).get("reference", {})
        if ref.get("proven"):
            quick = f.parent.name in QUICK
            out.append(pytest.param(f, marks=() if quick else pytest.mark.slow))
    if not out:
        return [pytest.param(None, marks=pytest.mark.skip(reason="no proven references"))]
    return out


@pytest.mark.parametrize(
    "path", _instances_with_proven_reference(), ids=lambda p: p.parent.name if p else "none"
)
def test_repository_instances_reproduce_recorded_optima(path):
    """validate on instances/ reproduces the recorded optima (the larger ones: -m slow)."""
    (r,) = validate(path, ["greedy"], time_limit=10)
    if r.reference_kind != "optimum":
        pytest.skip(f"HiGHS did not prove {path.parent.name} within 10 s here")
    assert r.optimum == pytest.approx(r.recorded, rel=1e-6, abs=1e-6)
    assert r.feasible is True
    assert "differs" not in r.message
