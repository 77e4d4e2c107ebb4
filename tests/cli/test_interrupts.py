"""Ctrl-C (SIGINT) and SIGTERM during solve, validate, whatif and plan.

Each command runs on a 100,000-user instance that HiGHS cannot finish in minutes, gets the
signal once it is solving, and must: exit within 2 s with code 130, print its best answer so
far (status time_limit, message "interrupted") and write nothing.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from formulations.instance import Scenario
from formulations.instance_file import write_instance
from formulations.synthetic import synthetic_instance

#: seconds from the signal to the process' exit that the commands promise
PROMISE = 2.0


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    inst = synthetic_instance(100_000, 5, 1, seed=3)
    limit = float(inst.limits[0])
    inst = inst.replace(scenarios=(Scenario(0.5, {inst.budget_names[0]: 0.8 * limit}),
                                   Scenario(0.5, {inst.budget_names[0]: 1.2 * limit})))
    return write_instance(inst, tmp_path_factory.mktemp("big") / "instance.toml",
                          table_format="parquet")


def interrupt(args: list[str], sig: int, after: float = 3.0) -> tuple[int, str, str, float]:
    """Run ``treatalloc ARGS``, send ``sig`` after ``after`` s; (code, stdout, stderr, seconds
    from the signal to the exit)."""
    proc = subprocess.Popen([sys.executable, "-m", "treatalloc", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(after)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(sig)
    t = time.perf_counter()
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err, time.perf_counter() - t


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_solve_stops_prints_the_best_so_far_and_writes_nothing(big, tmp_path, sig) -> None:
    out = tmp_path / "x.csv"
    code, stdout, err, took = interrupt(
        ["solve", str(big), "--solver", "highs", "--out", str(out)], sig)
    assert code == 130, (stdout, err)
    assert took <= PROMISE, took
    assert "status     time_limit" in stdout and "message    interrupted" in stdout
    assert "allocation none: nothing written" in stdout
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_solve_json_keeps_stdout_one_object(big) -> None:
    import json

    code, stdout, _err, took = interrupt(["solve", str(big), "--solver", "highs", "--json"],
                                         signal.SIGINT)
    assert code == 130 and took <= PROMISE
    data = json.loads(stdout)
    assert data["status"] == "time_limit" and data["message"] == "interrupted"


def test_validate_stops_and_writes_no_csv(big, tmp_path) -> None:
    csv = tmp_path / "v.csv"
    code, _out, err, took = interrupt(
        ["validate", str(big), "--heuristic", "greedy", "--csv", str(csv)], signal.SIGINT)
    assert code == 130 and took <= PROMISE, err
    assert "interrupted" in err and not csv.exists()


def test_whatif_stops_and_writes_nothing(big, tmp_path) -> None:
    out_dir = tmp_path / "w"
    code, _out, err, took = interrupt(
        ["whatif", str(big), "--solver", "highs", "--budgets", "0.5:1.5:3",
         "--out-dir", str(out_dir)], signal.SIGTERM)
    assert code == 130 and took <= PROMISE, err
    assert "interrupted" in err
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_plan_stops_and_writes_nothing(big, tmp_path) -> None:
    csv = tmp_path / "p.csv"
    code, stdout, err, took = interrupt(
        ["plan", str(big), "--program", "per-scenario", "--csv", str(csv)], signal.SIGINT,
        after=4.0)
    assert code == 130 and took <= PROMISE, (stdout, err)
    assert "interrupted" in stdout and not csv.exists()


