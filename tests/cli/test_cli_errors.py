"""Bad input through the CLI: one line on stderr naming the file and place, exit 2, no --out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.formulations.bad_inputs import CASES, Case, write_case
from treatalloc.cli import main


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_solve_bad_input_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: Case
) -> None:
    path, manifest, table = write_case(tmp_path, case)
    out = tmp_path / "alloc.csv"
    code = main(["solve", str(path), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    named = manifest if case.names == "manifest" else table
    assert lines[0].startswith("treatalloc solve: error: ") and str(named) in lines[0]
    assert case.where in lines[0]
    assert not out.exists()
    assert not list(tmp_path.glob(".alloc.csv*"))  # no temporary left behind either


@pytest.mark.parametrize("case_id", ["malformed-toml", "text-in-number"])
def test_a_real_process_prints_no_traceback(tmp_path: Path, case_id: str) -> None:
    case = next(c for c in CASES if c.id == case_id)
    path, _, _ = write_case(tmp_path, case)
    out = tmp_path / "alloc.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "treatalloc", "solve", str(path), "--json", "--out", str(out)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and case.where in proc.stderr
    assert not out.exists()


def test_info_and_convert_report_bad_input_the_same_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = next(c for c in CASES if c.id == "duplicate-pair")
    path, _, table = write_case(tmp_path, case)
    for argv in (["info", str(path)], ["convert", str(path), str(tmp_path / "copy")]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(table) in err[0] and "row 7 (line 8)" in err[0]
    assert not (tmp_path / "copy").exists()


def test_convert_unreadable_orlib_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "bad.txt"
    src.write_text("1\n3 1 0\n1 2 x\n1 1 1\n2\n")
    assert main(["convert", str(src), str(tmp_path / "out"), "--format", "orlib-mknap"]) == 2
    err = capsys.readouterr().err
    assert f"{src}: line 3, number 7 ('x')" in err
    assert not (tmp_path / "out").exists()


def test_unknown_problem_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "one.txt"
    src.write_text("1\n2 1 0\n1 2\n1 1\n1\n")
    assert main(["convert", str(src), str(tmp_path / "out"), "--problem", "3"]) == 2
    assert "--problem 3" in capsys.readouterr().err
