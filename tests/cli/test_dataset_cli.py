"""treatalloc dataset: bad input (one line, exit 2, nothing written), --json, the summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from formulations.experiment_data import load_experiment
from learners.datasets.locations import CACHE_ENV, DATA_ROOT_ENV
from tests.conftest import REPO, shared_data
from tests.learners.fake_raw import write_criteo
from treatalloc.cli import main


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_ROOT_ENV, raising=False)
    monkeypatch.delenv(CACHE_ENV, raising=False)


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("treatalloc dataset: error: ")
    return lines[0]


def test_missing_data_root_without_the_env_var(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "cache"
    assert main(["dataset", "hillstrom", "--out", str(out)]) == 2
    line = _one_error_line(capsys)
    assert "--data-root" in line and f"${DATA_ROOT_ENV}" in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["dataset", "nope"], "unknown dataset 'nope'"),
        (["dataset", "criteo_sample", "--split", "0.6,0.4"], "--split"),
        (["dataset", "criteo_sample", "--split", "0.6,0.3,0.3"], "--split"),
        (["dataset", "criteo_sample", "--split", "a,b,c"], "--split"),
        (["dataset", "criteo_sample", "--seed", "x"], "--seed"),
        (["dataset", "hillstrom"], "hillstrom.csv: not found"),
        (["dataset", "criteo_sample", "--data-root", "{tmp}/absent"], "--data-root"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], named: str,
) -> None:
    root = tmp_path / "raw"
    root.mkdir()
    write_criteo(root)
    out = tmp_path / "cache"
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--data-root" not in argv:
        argv += ["--data-root", str(root)]
    assert main([*argv, "--out", str(out)]) == 2
    assert named in _one_error_line(capsys)
    assert not out.exists()


def test_an_unwritable_out_is_refused_before_the_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    write_criteo(tmp_path)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert main(["dataset", "criteo_sample", "--data-root", str(tmp_path),
                 "--out", str(blocker / "cache")]) == 2
    line = _one_error_line(capsys)
    assert "--out" in line and "is a file" in line
    assert blocker.read_text() == "x"


def test_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "treatalloc", "dataset", "hillstrom", "--data-root",
         str(tmp_path), "--out", str(tmp_path / "cache"), "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "cache").exists()


def test_json_on_a_small_file_warns_on_stderr_about_the_checksum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "raw"
    write_criteo(root)
    monkeypatch.setenv(DATA_ROOT_ENV, str(root))
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    assert main(["dataset", "criteo_sample", "--json", "--parquet", "--seed", "3"]) == 0
    captured = capsys.readouterr()
    d = json.loads(captured.out)
    warn = captured.err.strip().splitlines()
    assert len(warn) == 1 and warn[0].startswith("treatalloc dataset: warning: ")
    assert "sha256" in warn[0]
    assert d["checksums"][0]["matches"] is False and d["warnings"]
    assert d["folder"] == str(tmp_path / "cache" / "criteo_sample")
    assert d["seed"] == 3 and d["table_format"] == "parquet"
    for split, s in d["splits"].items():
        data = load_experiment(s["manifest"])
        assert data.n_units == s["rows"], split
        assert (Path(s["manifest"]).parent / "data.parquet").exists()


def test_summary_and_json_on_the_real_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    root = shared_data("thornton_hiv_incentives").parent
    out = tmp_path / "cache"
    argv = ["dataset", "thornton_hiv_incentives", "--data-root", str(root), "--out", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    text = captured.out
    assert "not_in_incentive_sample 1986" in text and "missing_feature 5" in text
    assert "4820 rows" in text and "kept      2829 rows" in text
    for label in ("0", "(0,0.5]", "(0.5,1]", "(1,2]", "(2,3]"):
        assert f"\n          {label} " in text
    assert str(out / "thornton_hiv_incentives" / "train" / "data.toml") in text
    assert main([*argv, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["rows"] == 2829 and d["arms"][0] == "0"
    assert d["dropped"]["not_in_incentive_sample"]["rows"] == 1986
    assert {s: v["rows"] for s, v in d["splits"].items()} == {
        "all": 2829, "train": 1698, "validation": 565, "test": 566}
    assert abs(d["arm_stats"]["0"]["mean_value"] - 0.340) < 1e-3
    assert d["arm_stats"]["0"]["mean_cost"] == 0.0
