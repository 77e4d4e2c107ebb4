"""treatalloc solve / info / convert on good input: outputs, exit codes, files written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from formulations import load_instance
from tests.conftest import INSTANCES, REPO, shared_data
from tests.formulations.bad_inputs import Case, write_case
from treatalloc.cli import main

DEMO = INSTANCES / "demo"


def test_solve_writes_the_allocation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "alloc.csv"
    assert main(["solve", str(DEMO), "--json", "--out", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "optimal" and result["objective"] == pytest.approx(14.0)
    df = pd.read_csv(out)
    assert len(df) == 5
    chosen = dict(zip(df.iloc[:, 0], df.iloc[:, 1], strict=True))
    assert chosen == {"u1": "coupon_5", "u2": "coupon_10", "u3": "control", "u4": "coupon_10",
                      "u5": "control"}


def test_infeasible_exits_3_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # every unit's cheapest option costs 0 but the limit is -1: no allocation exists
    case = Case("infeasible", toml=Case("x").toml.replace("limit = 10.0", "limit = -1.0"))
    path, _, _ = write_case(tmp_path, case)
    out = tmp_path / "alloc.csv"
    assert main(["solve", str(path), "--json", "--out", str(out)]) == 3
    assert json.loads(capsys.readouterr().out)["status"] == "infeasible"
    assert not out.exists()


def test_solve_in_a_real_process(tmp_path: Path) -> None:
    out = tmp_path / "alloc.parquet"
    proc = subprocess.run(
        [sys.executable, "-m", "treatalloc", "solve", str(DEMO), "--json", "--out", str(out)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["objective"] == pytest.approx(14.0)  # stdout: JSON only
    assert len(pd.read_parquet(out)) == 5


@pytest.mark.parametrize("name", ["demo", "mknap1-00"])
def test_info(capsys: pytest.CaptureFixture[str], name: str) -> None:
    path = INSTANCES / name
    assert main(["info", str(path), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    inst = load_instance(path)
    assert s["units"] == inst.n_units and s["rows"] == inst.n_rows
    assert [b["name"] for b in s["budgets"]] == list(inst.budget_names)
    assert s["reference"]["objective"] == inst.reference.objective  # type: ignore[union-attr]
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert f"units       {inst.n_units}" in text and "reference" in text


def test_info_numbers_for_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(DEMO), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    # per-user best values 4 + 5 + 1.5 + 6 + 3; cheapest choice spends 0, dearest 5 x 10
    assert s["value_upper"] == pytest.approx(19.5)
    assert s["budgets"][0] == {"name": "cash", "limit": 25.0, "min_use": 0.0, "max_use": 50.0}
    assert (s["options_min"], s["options_max"], s["choose"]) == (3, 3, "exactly-one")


def test_convert_mknap1_all_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = shared_data("mkp_orlib_chu_beasley", "mknap1.txt")
    assert main(["convert", str(src), str(tmp_path / "m1")]) == 0
    folders = sorted(p.name for p in (tmp_path / "m1").iterdir())
    assert folders == [f"mknap1-{k:02d}" for k in range(7)]
    inst = load_instance(tmp_path / "m1" / "mknap1-01")
    assert inst.reference is not None and inst.reference.objective == 8706.1
    assert "wrote" in capsys.readouterr().out


def test_convert_chu_beasley_one_problem_parquet(tmp_path: Path) -> None:
    src = shared_data("mkp_orlib_chu_beasley", "mknapcb4.txt")
    out = tmp_path / "cb"
    assert main(["convert", str(src), str(out), "--problem", "7", "--table-format",
                 "parquet"]) == 0
    assert (out / "options.parquet").exists()
    inst = load_instance(out)
    assert inst.name == "10.100-07" and (inst.n_units, inst.n_budgets) == (100, 10)
    ref = inst.reference
    assert ref is not None and not ref.proven and ref.objective == 22635  # mkcbres: 10.100-07


def test_convert_mmkp_then_v1_to_parquet(tmp_path: Path) -> None:
    src = shared_data("mmkp_format_example", "example.txt")
    assert main(["convert", str(src), str(tmp_path / "a")]) == 0
    assert main(["convert", str(tmp_path / "a"), str(tmp_path / "b"), "--table-format",
                 "parquet"]) == 0
    inst = load_instance(tmp_path / "b")
    assert inst.n_units == 4 and inst.max_options == 3 and inst.reference is None


@pytest.mark.parametrize("suffix", [".lp", ".mps"])
def test_convert_exports_the_model(tmp_path: Path, suffix: str) -> None:
    pytest.importorskip("formulations.pyomo_model", reason="helper A's pyomo model module")
    out = tmp_path / f"demo{suffix}"
    assert main(["convert", str(DEMO), str(out)]) == 0
    text = out.read_text()
    if suffix == ".lp":
        assert "max" in text and text.count("x(") >= 15  # 5 users x 3 options
    else:
        assert "ROWS" in text and "COLUMNS" in text


def test_convert_model_needs_one_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = shared_data("mkp_orlib_chu_beasley", "mknap1.txt")
    assert main(["convert", str(src), str(tmp_path / "m.lp")]) == 2
    assert "--problem" in capsys.readouterr().err
    assert not (tmp_path / "m.lp").exists()


def test_one_loader_solves_a_cluster_program_through_engine_solve(tmp_path, capsys) -> None:
    import json

    from engine import solve
    from engine.clusters import ClusterPlan
    from formulations.cluster_program import ClusterProgram, write_cluster_program
    from formulations.instance import Budget
    from formulations.problem_file import load_problem, problem_kind
    from formulations.synthetic_clusters import synthetic_cluster_problem
    from treatalloc.cli import main

    pb = synthetic_cluster_problem(8, 4, seed=3)
    limit = 0.3 * float((pb.costs[0, 0].max(axis=1) * pb.sizes).sum())
    program = ClusterProgram(
        name="p", clusters=tuple(f"k{i}" for i in range(pb.n_groups)),
        options=pb.option_labels, sizes=pb.sizes, value=pb.value, costs=pb.costs,
        valid=pb.valid, budgets=(Budget(pb.budget_names[0], limit, pb.budget_names[0]),))
    path = write_cluster_program(program, tmp_path / "prog")
    assert problem_kind(path) == "clusters"
    loaded = load_problem(tmp_path / "prog")
    assert isinstance(loaded, ClusterProgram)
    plan = solve(loaded, "highs")
    assert isinstance(plan, ClusterPlan) and plan.status == "optimal"
    out = tmp_path / "shares.csv"
    assert main(["solve", str(tmp_path / "prog"), "--json", "--out", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "optimal" and abs(data["objective"] - plan.objective) < 1e-6
    assert out.exists()


def test_no_solver_banner_reaches_the_terminal_unless_asked() -> None:
    for solver in ("highs", "pyomo", "dual-exact"):
        proc = subprocess.run(
            [sys.executable, "-m", "treatalloc", "solve", str(INSTANCES / "demo"), "--solver",
             solver], capture_output=True, text=True, cwd=REPO, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "HiGHS" not in proc.stdout + proc.stderr, (solver, proc.stdout, proc.stderr)
    proc = subprocess.run(
        [sys.executable, "-m", "treatalloc", "solve", str(INSTANCES / "demo"), "--solver",
         "highs", "--log"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0 and "status     optimal" in proc.stdout
    assert "HiGHS" not in proc.stdout and "MIP" in proc.stderr
