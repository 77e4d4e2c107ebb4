"""learners.datasets: the real RCT loaders against SOURCE.md, and the machinery on small files."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from formulations.errors import InstanceError, UsageError
from formulations.experiment_data import ExperimentData, load_experiment
from learners.datasets import DATASETS, Prepared, prepare
from learners.datasets.locations import CACHE_ENV, DATA_ROOT_ENV, cache_dir, data_root
from learners.datasets.splits import check_fractions, parse_fractions, stratified_split
from tests.conftest import REPO, shared_data
from tests.learners.fake_raw import write_criteo, write_social_pressure, write_thornton

SPLITS = ("train", "validation", "test")


def _load_all(p: Prepared) -> dict[str, ExperimentData]:
    return {s: load_experiment(m) for s, m in p.manifests.items()}


# --- splits -------------------------------------------------------------------------------

def test_stratified_split_keeps_each_arms_fractions_and_is_seeded() -> None:
    arm = np.repeat([0, 1, 2], [1000, 301, 7])
    np.random.default_rng(5).shuffle(arm)
    split = stratified_split(arm, (0.6, 0.2, 0.2), seed=3)
    for j, n in enumerate((1000, 301, 7)):
        got = np.bincount(split[arm == j], minlength=3)
        assert got.sum() == n
        assert np.all(np.abs(got - n * np.array([0.6, 0.2, 0.2])) < 1.0)
    assert np.array_equal(split, stratified_split(arm, (0.6, 0.2, 0.2), seed=3))
    assert not np.array_equal(split, stratified_split(arm, (0.6, 0.2, 0.2), seed=4))
    # units are drawn at random, not in order
    assert split[arm == 0][:600].tolist() != [0] * 600


@pytest.mark.parametrize("bad", [(0.5, 0.5), (0.6, 0.2, 0.1), (1.0, 0.0, 0.0), (0.8, -0.1, 0.3),
                                 ("a", 0.5, 0.5)])
def test_bad_fractions_are_usage_errors(bad: tuple) -> None:
    with pytest.raises(UsageError, match="fractions"):
        check_fractions(bad)


def test_parse_fractions() -> None:
    assert parse_fractions("0.7, 0.1,0.2") == (0.7, 0.1, 0.2)
    with pytest.raises(UsageError, match="--split: expected three comma-separated"):
        parse_fractions("0.6;0.2;0.2")


# --- locations ----------------------------------------------------------------------------

def test_data_root_comes_from_the_argument_else_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(DATA_ROOT_ENV, raising=False)
    with pytest.raises(UsageError, match=rf"data_root.*\${DATA_ROOT_ENV}"):
        data_root(None)
    with pytest.raises(UsageError, match="not a folder"):
        data_root(tmp_path / "absent")
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path))
    assert data_root(None) == tmp_path
    other = tmp_path / "other"
    other.mkdir()
    assert data_root(other) == other


def test_cache_dir_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CACHE_ENV, raising=False)
    assert cache_dir(None) == Path.home() / ".cache" / "treatalloc" / "datasets"
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert cache_dir(None) == tmp_path
    assert cache_dir(tmp_path / "x") == tmp_path / "x"


# --- the machinery on small files (no shared data needed) ------------------------------------

def test_unknown_dataset_name(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown dataset 'nope'.*hillstrom"):
        prepare("nope", tmp_path, tmp_path / "out")


def test_missing_raw_file_names_it_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(InstanceError, match=r"hillstrom[/\\]hillstrom\.csv: not found"):
        prepare("hillstrom", tmp_path, out)
    assert not out.exists()


def test_unexpected_header_names_file_and_expected_columns(tmp_path: Path) -> None:
    path = write_criteo(tmp_path)
    df = pd.read_csv(path).rename(columns={"visit": "visits"})
    df.to_csv(path, index=False)
    out = tmp_path / "out"
    with pytest.raises(InstanceError) as e:
        prepare("criteo_sample", tmp_path, out)
    msg = str(e.value)
    assert str(path) in msg and "header" in msg
    assert "missing ['visit']" in msg and "unexpected ['visits']" in msg
    assert not out.exists()


def test_unknown_label_names_the_row_and_line(tmp_path: Path) -> None:
    rows = ["male,1950,yes,no,yes,no,yes,No, Control,No,2",
            "male,1951,yes,no,yes,no,yes,No, Postcard,No,2"]
    path = write_social_pressure(tmp_path, rows)
    with pytest.raises(InstanceError, match=r"row 2 \(line 3\), column 'treatment'.*Postcard"):
        prepare("social_pressure", tmp_path, tmp_path / "out")
    assert path.exists() and not (tmp_path / "out").exists()


def test_yes_no_other_than_yes_or_no_is_an_error(tmp_path: Path) -> None:
    rows = ["male,1950,yes,no,yes,no,yes,No, Control,No,2",
            "male,1951,yes,maybe,yes,no,yes,No, Self,No,2"]
    write_social_pressure(tmp_path, rows)
    with pytest.raises(InstanceError, match=r"row 2 \(line 3\), column 'g2002'.*yes or no"):
        prepare("social_pressure", tmp_path, tmp_path / "out")


def test_thornton_drops_are_counted_per_reason_and_cost_is_paid_on_coming(
    tmp_path: Path,
) -> None:
    raw = write_thornton(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fake file's checksum differs, on purpose
        p = prepare("thornton_hiv_incentives", tmp_path, tmp_path / "out", fractions=(0.5, 0.25,
                                                                                       0.25))
    assert p.rows_read == {"thornton_hiv_incentives/thornton_hiv.csv": len(raw)}
    assert p.dropped["not_in_incentive_sample"].rows == 2
    assert p.dropped["missing_feature"].rows == 1
    assert p.rows == len(raw) - 3
    data = _load_all(p)["all"]
    table = pd.read_csv(p.manifests["all"].parent / "data.csv")
    kept = raw.iloc[table["row"].to_numpy() - 1]
    assert np.allclose(data.cost, kept["tinc"].to_numpy() * kept["got"].to_numpy())
    # right-closed bins: 0.5 -> (0,0.5], 1.0 -> (0.5,1], 2.0 -> (1,2], 3.0 -> (2,3]
    label = dict(zip(table["tinc"], table["incentive"], strict=False))
    assert label[0.0] == "0" and label[0.5] == "(0,0.5]" and label[1.0] == "(0.5,1]"
    assert label[2.0] == "(1,2]" and label[3.0] == "(2,3]" and label[2.5] == "(2,3]"


def test_thornton_incentive_outside_the_bins_is_an_error(tmp_path: Path) -> None:
    raw = write_thornton(tmp_path)
    raw.loc[4, "tinc"] = 3.5
    raw.to_csv(tmp_path / "thornton_hiv_incentives" / "thornton_hiv.csv", index=False)
    with pytest.raises(InstanceError, match=r"row 5 \(line 6\), column 'tinc'.*\[0, 3\]"):
        prepare("thornton_hiv_incentives", tmp_path, tmp_path / "out")


def test_social_pressure_cleaning_on_a_small_file(tmp_path: Path) -> None:
    write_social_pressure(tmp_path)
    with pytest.warns(UserWarning, match="sha256"):
        p = prepare("social_pressure", tmp_path, tmp_path / "out", seed=1)
    d = _load_all(p)["all"]
    assert d.arms == ("Control", "Civic Duty", "Hawthorne", "Self", "Neighbors")
    table = pd.read_csv(p.manifests["all"].parent / "data.csv")
    assert set(table["voted"]) == {0, 1} and set(table["p2004"]) == {0, 1}
    assert "g2004" not in table.columns
    # row i (0-based) of the fake file: arm i % 5, voted unless i % 4 == 0, hh_size 1 + i % 3
    i = table["row"].to_numpy() - 1
    assert np.array_equal(d.arm, i % 5)
    assert np.array_equal(d.outcome, (i % 4 != 0).astype(float))
    letter = np.array([0.0, 0.40, 0.40, 0.50, 0.60])[i % 5]
    assert np.allclose(d.cost, letter / (1 + i % 3))


def test_empty_cells_are_dropped_and_counted(tmp_path: Path) -> None:
    arms = [" Control", " Civic Duty", " Hawthorne", " Self", " Neighbors"]
    rows = [f"male,{1950 + i},yes,no,yes,no,yes,No,{arms[i % 5]},No,2" for i in range(20)]
    rows[3] = "female,1951,yes,,yes,no,yes,No, Self,,3"  # two empty cells: one drop
    rows[7] = "female,1951,yes,no,yes,no,yes,No, Self,Yes,"  # empty hh_size
    write_social_pressure(tmp_path, rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = prepare("social_pressure", tmp_path, tmp_path / "out", fractions=(0.4, 0.3, 0.3))
    assert p.dropped["missing_value"].rows == 2 and p.rows == 18
    units = set(load_experiment(p.manifests["all"]).units.astype(int))
    assert units == set(range(1, 21)) - {4, 8}  # the raw rows kept, by their 1-based number


def test_an_arm_absent_after_cleaning_is_an_instance_error(tmp_path: Path) -> None:
    rows = ["male,1950,yes,no,yes,no,yes,No, Control,No,2",
            "male,1951,yes,no,yes,no,yes,No, Self,No,2"]
    path = write_social_pressure(tmp_path, rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InstanceError, match="no unit received the arm 'Civic Duty'") as e:
            prepare("social_pressure", tmp_path, tmp_path / "out")
    assert str(path) in str(e.value) and not (tmp_path / "out").exists()


def test_checksum_mismatch_is_a_warning_recorded_in_the_report(tmp_path: Path) -> None:
    write_criteo(tmp_path)
    with pytest.warns(UserWarning, match="differs from the 3177ba"):
        p = prepare("criteo_sample", tmp_path, tmp_path / "out")
    report = tomllib.loads(p.report.read_text())
    assert report["checksums"][0]["matches"] is False
    assert report["warnings"] and "SOURCE.md" in report["warnings"][0]


def test_rerun_replaces_the_folder_and_a_foreign_folder_is_left_alone(tmp_path: Path) -> None:
    write_criteo(tmp_path)
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = prepare("criteo_sample", tmp_path, out, seed=0)
        stale = first.folder / "train" / "stale.txt"
        stale.write_text("x")
        prepare("criteo_sample", tmp_path, out, seed=1)
        assert not stale.exists() and first.manifests["train"].exists()
        assert sorted(p.name for p in out.iterdir()) == ["criteo_sample"]  # no temporaries
        foreign = tmp_path / "foreign"
        (foreign / "criteo_sample").mkdir(parents=True)
        (foreign / "criteo_sample" / "mine.txt").write_text("keep")
        with pytest.raises(UsageError, match="not written by treatalloc dataset"):
            prepare("criteo_sample", tmp_path, foreign)
    assert (foreign / "criteo_sample" / "mine.txt").read_text() == "keep"


def test_a_split_left_without_an_arm_is_a_usage_error(tmp_path: Path) -> None:
    write_criteo(tmp_path, n=12)  # 4 control units
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(UsageError, match="validation split would hold no unit of arm"):
            prepare("criteo_sample", tmp_path, tmp_path / "out", fractions=(0.9, 0.05, 0.05))
    assert not (tmp_path / "out" / "criteo_sample").exists()


def test_the_loaders_do_not_import_torch() -> None:
    mods = ", ".join(["learners.datasets.build", *DATASETS.values()])
    code = f"import sys, {mods}; print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


# --- the real files (skipped where /work/shared/data is absent) ------------------------------

@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory):
    """Prepare each real dataset once (social_pressure as Parquet, the others as CSV)."""
    cache: dict[str, tuple[Prepared, dict[str, ExperimentData]]] = {}
    out = tmp_path_factory.mktemp("datasets")

    def get(name: str) -> tuple[Prepared, dict[str, ExperimentData]]:
        if name not in cache:
            folder = {"criteo_sample": "criteo_uplift_sample"}.get(name, name)
            root = shared_data(folder).parent
            fmt = "parquet" if name == "social_pressure" else "csv"
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # the shared copies must match SOURCE.md
                p = prepare(name, root, out, table_format=fmt)
            cache[name] = (p, _load_all(p))
        return cache[name]

    return get


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_split_loads_with_the_design_propensity_and_disjoint_units(real, name) -> None:
    p, data = real(name)
    full = data["all"]
    assert full.kind == "rct" and full.arms == p.arms
    share = full.arm_counts / full.n_units
    units = {}
    for s, d in data.items():
        assert d.arms == p.arms
        assert np.allclose(d.propensity, share[d.arm])  # the full data's share, in every split
        assert len(set(d.units)) == d.n_units
        assert d.n_units == sum(p.split_counts[s].values())
        units[s] = set(d.units)
    assert units["train"].isdisjoint(units["validation"])
    assert units["train"].isdisjoint(units["test"])
    assert units["validation"].isdisjoint(units["test"])
    assert units["train"] | units["validation"] | units["test"] == units["all"]
    report = tomllib.loads(p.report.read_text())
    assert all(c["matches"] for c in report["checksums"])
    assert report["splits"]["all"]["rows"] == full.n_units == report["rows"]
    assert report["seed"] == 0 and report["fractions"] == [0.6, 0.2, 0.2]


def _rates(d: ExperimentData, values: np.ndarray | None = None) -> np.ndarray:
    v = d.outcome if values is None else values
    return np.bincount(d.arm, weights=v, minlength=d.n_arms) / d.arm_counts


def test_hillstrom_matches_source_md(real) -> None:
    p, data = real("hillstrom")
    d = data["all"]
    assert d.arms == ("No E-Mail", "Mens E-Mail", "Womens E-Mail")
    assert d.arm_counts.tolist() == [21306, 21307, 21387]
    assert np.allclose(_rates(d), [0.65, 1.42, 1.08], atol=0.005)  # mean spend
    table = pd.read_csv(p.manifests["all"].parent / "data.csv")
    visit = table["visit"].to_numpy(float)
    conv = table["conversion"].to_numpy(float)
    assert np.allclose(_rates(d, visit), [0.1062, 0.1828, 0.1514], atol=5e-5)
    assert np.allclose(_rates(d, conv), [0.0057, 0.0125, 0.0088], atol=5e-5)
    assert d.option_costs == {"No E-Mail": 0.0, "Mens E-Mail": 0.1, "Womens E-Mail": 0.1}
    assert "history_segment" not in table.columns
    assert set(d.features.columns) == {"recency", "history", "mens", "womens", "newbie",
                                       "zip_code", "channel"}
    assert p.dropped["missing_value"].rows == 0


def test_social_pressure_matches_source_md_and_cost_is_letter_per_household(real) -> None:
    p, data = real("social_pressure")
    d = data["all"]
    assert d.arms == ("Control", "Civic Duty", "Hawthorne", "Self", "Neighbors")
    assert d.arm_counts.tolist() == [191243, 38218, 38204, 38218, 38201]
    assert np.allclose(_rates(d), [0.297, 0.315, 0.322, 0.345, 0.378], atol=5e-4)
    hh = d.features["hh_size"].to_numpy()
    letter = np.array([0.0, 0.40, 0.40, 0.50, 0.60])[d.arm]
    assert np.allclose(d.cost * hh, letter, rtol=0, atol=1e-12)
    assert hh.min() >= 1 and (d.cost[d.arm > 0] < letter[d.arm > 0]).any()  # shared letters
    assert "g2004" not in pd.read_parquet(p.manifests["all"].parent / "data.parquet").columns
    assert p.rows == 344084


def test_thornton_matches_source_md(real) -> None:
    p, data = real("thornton_hiv_incentives")
    d = data["all"]
    assert p.dropped["not_in_incentive_sample"].rows == 1986
    assert p.dropped["missing_feature"].rows == 5
    assert p.rows == 4820 - 1986 - 5
    assert d.arm_counts.tolist() == [621, 560, 580, 698, 370]
    rates = _rates(d)
    assert np.allclose(rates[:3], [0.34, 0.67, 0.77], atol=0.005)
    assert np.allclose(rates[3:], 0.85, atol=0.015)  # SOURCE.md: "~0.85 above 1"
    table = pd.read_csv(p.manifests["all"].parent / "data.csv")
    assert np.allclose(d.cost, table["tinc"].to_numpy() * d.outcome, rtol=0, atol=0)
    assert (d.cost[d.outcome == 0] == 0).all()
    assert (d.cost[(d.outcome == 1) & (d.arm > 0)] > 0).all()
    assert list(d.features.columns) == ["distvct", "age", "hiv2004"]


def test_starbucks_test_split_is_test_csv_and_matches_source_md(real) -> None:
    p, data = real("starbucks_promo")
    root = shared_data("starbucks_promo")
    train_raw = pd.read_csv(root / "Training.csv")
    test_raw = pd.read_csv(root / "Test.csv")
    assert set(data["test"].units.astype(int)) == set(test_raw["ID"])
    train_val = set(data["train"].units.astype(int)) | set(data["validation"].units.astype(int))
    assert train_val == set(train_raw["ID"])
    assert p.test_split == "starbucks_promo/Test.csv"
    # train : validation = 0.6 : 0.2 of Training.csv, per arm
    assert abs(data["train"].n_units / len(train_raw) - 0.75) < 1e-3
    d = data["all"]
    n = len(train_raw) + len(test_raw)
    assert np.allclose(d.propensity, (d.arm_counts / n)[d.arm])
    tr = d.subset(np.isin(d.units.astype(int), train_raw["ID"]))
    assert tr.arm_counts.tolist() == [42170, 42364]
    assert np.allclose(_rates(tr) / 10.0, [0.0076, 0.0170], atol=5e-5)  # purchase rates
    assert set(np.unique(d.outcome)) == {0.0, 10.0}
    assert d.option_costs == {"No": 0.0, "Yes": 0.15}


def test_criteo_sample_is_value_conversion_cost_visit(real) -> None:
    p, data = real("criteo_sample")
    d = data["all"]
    assert d.arms == ("control", "treatment")
    assert d.arm_counts.tolist() == [137, 863]
    assert d.outcome.sum() == 2
    table = pd.read_csv(p.manifests["all"].parent / "data.csv")
    assert np.array_equal(d.cost, table["visit"].to_numpy(float))
    assert abs(d.cost.mean() - 0.035) < 1e-9


def test_same_seed_same_splits_other_seed_other_splits(real, tmp_path: Path) -> None:
    p, data = real("thornton_hiv_incentives")
    root = shared_data("thornton_hiv_incentives").parent
    again = prepare("thornton_hiv_incentives", root, tmp_path / "a")
    other = prepare("thornton_hiv_incentives", root, tmp_path / "b", seed=1)
    for s in SPLITS:
        a = (p.manifests[s].parent / "data.csv").read_bytes()
        assert (again.manifests[s].parent / "data.csv").read_bytes() == a
        assert set(load_experiment(other.manifests[s]).units) != set(data[s].units)
