"""The CLI entry point: pure JSON on stdout, usage exit codes, a closed pipe is not an error."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import INSTANCES
from treatalloc.cli import main


def test_json_stdout_is_one_object_even_with_solver_banners():
    # HiGHS prints a banner from C++ on file descriptor 1; it must end up on stderr
    proc = subprocess.run(
        [sys.executable, "-m", "treatalloc", "solve", str(INSTANCES / "demo"), "--json"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["status"] == "optimal"
    assert "HiGHS" not in proc.stdout


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2


def test_closed_pipe_is_not_an_internal_error():
    proc = subprocess.run(
        f"{sys.executable} -m treatalloc info {INSTANCES / 'demo'} | head -c 1",
        shell=True, capture_output=True, text=True, check=False,
    )
    assert "Traceback" not in proc.stderr
    assert "internal error" not in proc.stderr
