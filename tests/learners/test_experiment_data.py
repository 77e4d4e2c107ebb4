"""ExperimentData for learning: unit ids, declared arms, observational logs, features-only data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from formulations.errors import InstanceError, UsageError
from formulations.experiment_data import (
    experiment_from_frame,
    is_experiment_manifest,
    load_experiment,
    load_features,
    write_experiment,
)


def frame(n: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "id": [f"u{i:03d}" for i in range(n)],
        "arm": np.array(["none", "a", "b"])[np.arange(n) % 3],
        "y": rng.random(n), "c": rng.random(n), "x": rng.standard_normal(n),
        "city": np.array(["n", "s"])[np.arange(n) % 2],
    })


MANIFEST = {"treatment": "arm", "control": "none", "outcome": "y", "cost": "c",
            "features": ["x", "city"], "unit": "id"}


def test_unit_ids_and_declared_arm_order(tmp_path: Path) -> None:
    write_experiment(frame(), tmp_path, {**MANIFEST, "arms": ["none", "b", "a"]})
    d = load_experiment(tmp_path)
    assert d.arms == ("none", "b", "a")
    assert list(d.units[:3]) == ["u000", "u001", "u002"]
    # the arm codes follow the declared order: row 1 got 'a', the third declared arm
    assert d.arm[1] == 2 and d.arm[2] == 1
    sub = d.subset(np.array([2, 0]))
    assert list(sub.units) == ["u002", "u000"] and list(sub.arm) == [1, 0]


def test_csv_unit_ids_are_text() -> None:
    df = frame()
    df["id"] = ["007", "7"] + [str(i + 100) for i in range(10)]
    d = experiment_from_frame(df, **{**MANIFEST, "features": ["x"]})  # type: ignore[arg-type]
    assert d.units[0] == "007" and d.units[1] == "7"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda df: df.assign(id=["u000"] * len(df)), r"row 2, column 'id': duplicate unit id"),
        (lambda df: df.assign(arm=df.arm.where(df.index != 4, "c")),
         r"row 5, column 'arm': unknown treatment label 'c'"),
        (lambda df: df.assign(arm="none"), "at least two arms"),
        (lambda df: df.assign(x=df.x.where(df.index != 3, np.nan)),
         r"row 4, column 'x': missing feature value"),
        (lambda df: df.assign(y=df.y.where(df.index != 6, np.nan)), r"row 7, column 'y'"),
        (lambda df: df.drop(columns="city"), r"column 'city': missing feature"),
    ],
)
def test_bad_input_names_row_and_column(change, message: str) -> None:
    with pytest.raises(InstanceError, match=message):
        experiment_from_frame(change(frame()), arms=["none", "a", "b"], source="t.csv",
                              **MANIFEST)  # type: ignore[arg-type]


def test_propensity_outside_unit_interval() -> None:
    df = frame().assign(p=0.5)
    df.loc[5, "p"] = 1.5
    message = r"row 6, column 'p': expected a propensity in \(0, 1\]"
    with pytest.raises(InstanceError, match=message):
        experiment_from_frame(df, propensity="p", **MANIFEST)  # type: ignore[arg-type]


def test_observational_log_without_propensity() -> None:
    d = experiment_from_frame(frame(), kind="observational", **MANIFEST)  # type: ignore[arg-type]
    assert d.propensity is None
    with pytest.raises(UsageError, match="needs the propensity"):
        d.design_propensity("EOM")
    rct = experiment_from_frame(frame(), **MANIFEST)  # type: ignore[arg-type]
    assert np.allclose(rct.design_propensity(), 1 / 3)


def test_features_only_manifest(tmp_path: Path) -> None:
    df = frame()[["id", "x", "city"]]
    write_experiment(df, tmp_path, {"features": ["x", "city"], "unit": "id"})
    assert not is_experiment_manifest(tmp_path)
    t = load_features(tmp_path)
    assert t.n_units == 12 and t.feature_names == ("x", "city") and t.unit_ids[0] == "u000"
    with pytest.raises(InstanceError, match="treatment: missing"):
        load_experiment(tmp_path)
    # an experiment manifest can be read for its features too
    write_experiment(frame(), tmp_path / "full", MANIFEST)
    assert is_experiment_manifest(tmp_path / "full")
    assert load_features(tmp_path / "full").n_units == 12


def test_write_experiment_refuses_unknown_keys(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown key 'colour'"):
        write_experiment(frame(), tmp_path, {**MANIFEST, "colour": "red"})
    assert not (tmp_path / "data.toml").exists()
