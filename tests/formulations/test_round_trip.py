"""write_instance -> load_instance gives back the same instance (CSV, Parquet, Parquet parts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from formulations import (
    Budget,
    Capacity,
    Instance,
    Reference,
    Scenario,
    instance_table,
    load_instance,
    write_instance,
)
from formulations.instance_file import manifest_dict


def assert_same(a: Instance, b: Instance) -> None:
    assert a.name == b.name and a.description == b.description
    assert a.choose == b.choose and a.columns == b.columns
    assert [str(u) for u in a.unit_ids] == [str(u) for u in b.unit_ids]
    np.testing.assert_array_equal(a.offsets, b.offsets)
    la = np.asarray(a.option_labels, dtype=object)[a.option_codes]
    lb = np.asarray(b.option_labels, dtype=object)[b.option_codes]
    np.testing.assert_array_equal(la, lb)
    np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(a.costs, b.costs)
    assert a.budgets == b.budgets and a.capacities == b.capacities
    assert a.reference == b.reference
    assert [(s.probability, dict(s.limits)) for s in a.scenarios] == [
        (s.probability, dict(s.limits)) for s in b.scenarios
    ]


def ragged_instance() -> Instance:
    # units with 3, 1 and 2 options; string ids; awkward floats; two budgets
    value = np.array([0.0, 1 / 3, 2.5e-17, 7.0, -1.25, 1e12])
    costs = np.array([[0.0, 0.1, 0.2, 3.0, 0.0, 4.0], [1.0, 0.0, np.pi, 0.0, 2.0, 1e-300]])
    return Instance(
        name="ragged",
        description="three units, ragged options",
        unit_ids=np.array(["alice", "bob", "carol"], dtype=object),
        offsets=np.array([0, 3, 4, 6]),
        option_codes=np.array([0, 1, 2, 1, 0, 2], dtype=np.int32),
        option_labels=("none", "sms", "coupon"),
        value=value,
        costs=costs,
        budgets=(Budget("cash", 4.5, "cash"), Budget("calls", 3.0, "calls")),
        capacities=(Capacity("coupon", 1.0),),
        choose="at-most-one",
        reference=Reference(8.0, False, "a test"),
        scenarios=(Scenario(0.25, {"cash": 4.0}), Scenario(0.75, {"cash": 5.0, "calls": 2.0})),
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip(tmp_path: Path, fmt: str) -> None:
    inst = ragged_instance()
    path = write_instance(inst, tmp_path / "out", table_format=fmt)
    assert (tmp_path / "out" / f"options.{fmt}").exists()
    assert_same(inst, load_instance(path))
    assert_same(inst, load_instance(tmp_path / "out"))  # the folder works too


def test_round_trip_parquet_parts(tmp_path: Path) -> None:
    inst = ragged_instance()
    parts = tmp_path / "parts"
    parts.mkdir()
    df = instance_table(inst)
    # split between rows of one unit too: the loader regroups rows by unit
    for i, (lo, hi) in enumerate([(0, 2), (2, 5), (5, 6)]):
        df.iloc[lo:hi].to_parquet(parts / f"part-{i}.parquet", index=False)
    (tmp_path / "instance.toml").write_text(tomli_w.dumps(manifest_dict(inst, "parts")))
    assert_same(inst, load_instance(tmp_path))


def test_rows_need_not_be_grouped_by_unit(tmp_path: Path) -> None:
    inst = ragged_instance()
    df = instance_table(inst).iloc[[5, 0, 3, 1, 4, 2]]
    df.to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "instance.toml").write_text(tomli_w.dumps(manifest_dict(inst, "t.csv")))
    back = load_instance(tmp_path)
    # units in order of first appearance: carol, alice, bob
    assert list(back.unit_ids) == ["carol", "alice", "bob"]
    got = instance_table(back).sort_values(["unit", "option"]).reset_index(drop=True)
    want = instance_table(inst).sort_values(["unit", "option"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)


def test_csv_ids_are_read_as_written(tmp_path: Path) -> None:
    """"007" and "7" are two units, and "01"/"1" two options: a CSV's ids are text, not numbers."""
    (tmp_path / "t.csv").write_text(
        "unit,option,value,cost\n007,01,1.0,1.0\n007,1,2.0,2.0\n7,01,3.0,1.0\n"
    )
    (tmp_path / "instance.toml").write_text(
        'table = "t.csv"\nchoose = "at-most-one"\n'
        '[[budgets]]\nname = "cash"\ncolumn = "cost"\nlimit = 2.0\n'
    )
    back = load_instance(tmp_path)
    assert list(back.unit_ids) == ["007", "7"]
    assert sorted(back.option_labels) == ["01", "1"]
    assert back.n_units == 2 and back.offsets.tolist() == [0, 2, 3]


@settings(max_examples=25, deadline=None)
@given(
    counts=st.lists(st.integers(1, 4), min_size=1, max_size=6),
    k=st.integers(1, 3),
    seed=st.integers(0, 2**31 - 1),
    choose=st.sampled_from(["exactly-one", "at-most-one"]),
)
def test_round_trip_random(tmp_path_factory: pytest.TempPathFactory, counts: list[int], k: int,
                           seed: int, choose: str) -> None:
    rng = np.random.default_rng(seed)
    r = sum(counts)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    codes = np.concatenate([rng.permutation(4)[:c] for c in counts]).astype(np.int32)
    inst = Instance(
        name="random", unit_ids=np.arange(10, 10 + len(counts)), offsets=offsets,
        option_codes=codes, option_labels=("o0", "o1", "o2", "o3"),
        value=rng.normal(size=r), costs=rng.exponential(size=(k, r)),
        budgets=tuple(Budget(f"b{i}", float(rng.uniform(0, 5)), f"b{i}") for i in range(k)),
        choose=choose,  # type: ignore[arg-type]
    )
    out = tmp_path_factory.mktemp("rt")
    assert_same(inst, load_instance(write_instance(inst, out)))
