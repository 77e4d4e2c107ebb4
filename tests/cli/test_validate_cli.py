"""treatalloc validate: table, CSV, exit codes, user heuristics from the current folder, --quiet."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from formulations import write_instance
from formulations.synthetic import synthetic_instance
from tests.conftest import REPO
from treatalloc.cli import main

HEURISTICS = '''
import numpy as np
import pandas as pd

def priciest(inst):
    d = inst.dense()
    return np.argmax(np.where(d.valid, d.costs[0], -np.inf), axis=1)

def control_frame(inst):
    return pd.DataFrame({"unit": inst.unit_ids, "option": "control"})
'''


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A user's folder: two instances and a heuristics module named after the test's folder."""
    for n, seed in ((8, 1), (12, 2)):
        inst = synthetic_instance(n, 4, seed=seed, name=f"s{n}")
        write_instance(inst, tmp_path / "inst" / f"s{n}")
    mod = f"heur_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{mod}.py").write_text(HEURISTICS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    yield tmp_path, mod
    sys.modules.pop(mod, None)


def test_table_csv_and_success(workdir, capfd):
    tmp, mod = workdir
    code = main(["validate", "inst", "-H", "greedy", "-H", f"{mod}:control_frame",
                 "--csv", "out.csv"])
    out, err = capfd.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["instance", "units", "heuristic", "objective", "optimum/bound",
                                "gap", "%", "seconds", "feasible"]
    assert sum(" greedy " in ln for ln in lines) == 2
    df = pd.read_csv(tmp / "out.csv")
    assert len(df) == 4 and df["feasible"].all()
    assert (df["reference_kind"] == "optimum").all()
    ctrl = df[df["heuristic"] == f"{mod}:control_frame"]
    assert (ctrl["objective"] == 0).all() and (ctrl["gap_pct"] == 100).all()


def test_infeasible_user_heuristic_exits_5(workdir, capfd):
    tmp, mod = workdir
    code = main(["validate", "inst", "-H", f"{mod}:priciest", "-H", "greedy", "--csv", "o.csv"])
    out, err = capfd.readouterr()
    assert code == 5
    assert f"{mod}:priciest: budget 'cash': usage" in err
    assert sum(ln.rstrip().endswith("NO") for ln in out.splitlines()) == 2
    df = pd.read_csv(tmp / "o.csv")
    assert df.loc[df["heuristic"] == "greedy", "feasible"].all()
    assert not df.loc[df["heuristic"] != "greedy", "feasible"].any()


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ("nosuchmodule_q:f", "cannot import module 'nosuchmodule_q'"),
        ("{mod}:nothere", "has no attribute 'nothere'"),
        ("justaword", "expected a solver name"),
    ],
)
def test_bad_heuristic_spec_exits_2(workdir, capfd, spec, text):
    tmp, mod = workdir
    assert main(["validate", "inst", "-H", spec.format(mod=mod), "--csv", "x.csv"]) == 2
    _out, err = capfd.readouterr()
    assert text in err and "Traceback" not in err
    assert err.count("\n") == 1  # one line, no traceback
    assert not (tmp / "x.csv").exists()  # nothing solved, nothing written


def test_missing_path_exits_2(workdir, capfd):
    assert main(["validate", "nowhere"]) == 2
    assert "'nowhere' not found" in capfd.readouterr().err


def _run_on_pty(args: list[str], cwd: Path) -> tuple[int, bytes, bytes]:
    """Run the CLI with stderr on a pseudo-terminal; returns (code, stdout, pty bytes)."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "treatalloc", *args], cwd=cwd, stdout=subprocess.PIPE,
        stderr=slave, env={**env, "PYTHONPATH": str(REPO)},
    )
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    out = proc.stdout.read() if proc.stdout else b""
    return proc.wait(timeout=60), out, b"".join(chunks)


def test_progress_on_terminal_and_quiet_silences_it(workdir):
    tmp, _mod = workdir
    code, out, tty = _run_on_pty(["validate", "inst", "-H", "greedy"], tmp)
    assert code == 0
    bar_glyph = "\u2501".encode()  # the rich bar's line
    assert bar_glyph in tty and b"s8: greedy" in tty
    code, out_q, tty_q = _run_on_pty(["validate", "inst", "-H", "greedy", "--quiet"], tmp)
    assert code == 0
    # with --quiet nothing but the solver banners HiGHS prints itself reaches the terminal
    assert b"\x1b[" not in tty_q and bar_glyph not in tty_q and b"s8: " not in tty_q
    assert out_q.splitlines()[2:] and out.splitlines()[0] == out_q.splitlines()[0]
