"""Outputs are checked before any work: exit 2, one line naming the flag, nothing solved.

Before, ``--out`` into a folder that cannot be written ran the whole solve and then printed a
PermissionError traceback (exit 1); the same for ``whatif --out-dir``, ``generate`` and
``abtest --csv``; ``generate`` overwrote an instance silently and ``abtest --png out/a.jpg``
wrote PNG bytes into a .jpg.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import INSTANCES
from treatalloc.cli import main

DEMO = str(INSTANCES / "demo")


def unwritable(tmp_path: Path) -> Path:
    """A folder no one can create a file in (root included): /sys, or a read-only folder."""
    if os.geteuid() == 0:
        return Path("/sys/treatalloc-test")
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    return d


def under_a_file(tmp_path: Path) -> Path:
    f = tmp_path / "file.txt"
    f.write_text("x")
    return f / "sub"


def boom(*args: object, **kwargs: object) -> None:
    raise AssertionError("work started before the output was checked")


def one_line_error(capsys: pytest.CaptureFixture[str], flag: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert ": error: " in err[0] and flag in err[0]
    return err[0]


@pytest.mark.parametrize("where", [unwritable, under_a_file])
def test_solve_checks_out_before_solving(tmp_path, capsys, monkeypatch, where) -> None:
    import engine

    monkeypatch.setattr(engine, "solve", boom)
    out = where(tmp_path) / "alloc.csv"
    assert main(["solve", DEMO, "--out", str(out)]) == 2
    one_line_error(capsys, "--out")


def test_solve_refuses_an_unknown_table_suffix_before_solving(tmp_path, capsys,
                                                               monkeypatch) -> None:
    import engine

    monkeypatch.setattr(engine, "solve", boom)
    assert main(["solve", DEMO, "--out", str(tmp_path / "alloc.xlsx")]) == 2
    assert ".csv" in one_line_error(capsys, "--out")


def test_whatif_checks_out_dir_and_files_before_solving(tmp_path, capsys, monkeypatch) -> None:
    import engine.whatif

    monkeypatch.setattr(engine.whatif, "whatif", boom)
    bad = unwritable(tmp_path) / "w"
    assert main(["whatif", DEMO, "--budgets", "0.5:1.5:3", "--out-dir", str(bad)]) == 2
    one_line_error(capsys, "--out-dir")
    assert main(["whatif", DEMO, "--budgets", "0.5:1.5:3",
                 "--png", str(under_a_file(tmp_path) / "w.png")]) == 2
    one_line_error(capsys, "--png")


def test_generate_refuses_to_overwrite_without_force(tmp_path, capsys) -> None:
    out = tmp_path / "g"
    assert main(["generate", str(out), "-n", "20", "--seed", "1"]) == 0
    first = (out / "options.csv").read_text()
    capsys.readouterr()
    assert main(["generate", str(out), "-n", "30", "--seed", "2"]) == 2
    assert "--force" in one_line_error(capsys, "exists")
    assert (out / "options.csv").read_text() == first
    assert main(["generate", str(out), "-n", "30", "--seed", "2", "--force"]) == 0
    assert (out / "options.csv").read_text() != first


def test_generate_checks_its_folder_before_generating(tmp_path, capsys, monkeypatch) -> None:
    import formulations.synthetic

    monkeypatch.setattr(formulations.synthetic, "synthetic_instance", boom)
    assert main(["generate", str(unwritable(tmp_path) / "g"), "-n", "20"]) == 2
    one_line_error(capsys, "OUT")


@pytest.fixture
def ab_csv(tmp_path: Path) -> Path:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"arm": rng.integers(0, 2, n), "y": rng.normal(size=n),
                       "x": rng.normal(size=n)})
    path = tmp_path / "ab.csv"
    df.to_csv(path, index=False)
    return path


def test_abtest_checks_csv_and_png_before_the_analysis(tmp_path, capsys, monkeypatch,
                                                        ab_csv) -> None:
    import evaluation.abtest

    monkeypatch.setattr(evaluation.abtest, "analyze_arms", boom)
    base = ["abtest", str(ab_csv), "--metric", "y", "--treatment", "arm", "--covariates", "x"]
    assert main([*base, "--csv", str(unwritable(tmp_path) / "r.csv")]) == 2
    one_line_error(capsys, "--csv")
    assert main([*base, "--png", str(tmp_path / "out" / "a.jpg")]) == 2
    assert ".png" in one_line_error(capsys, "--png")
    assert not (tmp_path / "out").exists()


def test_validate_and_plan_check_csv_first(tmp_path, capsys) -> None:
    bad = str(under_a_file(tmp_path) / "t.csv")
    assert main(["validate", DEMO, "--csv", bad]) == 2
    one_line_error(capsys, "--csv")
    assert main(["plan", str(INSTANCES / "campaign_scenarios"), "--program", "per-scenario",
                 "--csv", bad]) == 2
    one_line_error(capsys, "--csv")
