"""treatalloc whatif on the command line: outputs, exit codes, nothing written on bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from formulations.instance_file import write_instance
from treatalloc.cli import main

from .helpers import small, with_scenarios


@pytest.fixture(scope="module")
def instance_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("inst")
    write_instance(with_scenarios(small(30, 1, seed=9), [0.2, 0.3, 0.5]), d)
    return d


def test_writes_csv_png_and_html_and_prints_the_table(instance_dir, tmp_path, capfd):
    out = tmp_path / "report"
    code = main(["whatif", str(instance_dir), "--budgets", "0.5:1.5:5", "--solver", "highs",
                 "--cost-scale", "coupon_2=1.2", "--out-dir", str(out)])
    captured = capfd.readouterr()
    assert code == 0, captured.err
    assert sorted(p.name for p in out.iterdir()) == ["whatif.csv", "whatif.html", "whatif.png"]
    t = pd.read_csv(out / "whatif.csv")
    assert len(t) == 5 and list(t["scale"]) == [0.5, 0.75, 1.0, 1.25, 1.5]
    assert {"value", "bound", "gap", "lp_value", "lambda_cash", "spend_cash",
            "share_control", "share_coupon_4"} <= set(t.columns)
    assert (out / "whatif.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "whatif.html").read_text()
    assert "data:image/png;base64," in page and "<table" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    lines = captured.out.splitlines()
    assert lines[0].split()[:4] == ["point", "scale", "limit_cash", "status"]
    assert sum(line.split()[0].isdigit() for line in lines[1:6]) == 5


def test_individual_output_paths_and_one_budget_values(instance_dir, tmp_path, capfd):
    csv = tmp_path / "a" / "t.csv"
    code = main(["whatif", str(instance_dir), "--budget", "cash=20,10,40", "--solver", "highs",
                 "--csv", str(csv), "--quiet"])
    captured = capfd.readouterr()
    assert code == 0, captured.err
    assert captured.out == ""
    t = pd.read_csv(csv)
    assert list(t["limit_cash"]) == [10.0, 20.0, 40.0]
    assert "scale" not in t.columns
    assert list(tmp_path.joinpath("a").iterdir()) == [csv]


BAD = [
    (["--budgets", "0:1:5"], "must be > 0"),
    (["--budgets=-0.5:1:3"], "must be > 0"),
    (["--budgets", "1.5:0.5:3"], "START <= STOP"),
    (["--budgets", "0.5:1.5:0"], "COUNT"),
    (["--budget=cash=-1,2"], "> 0"),
    (["--budget", "cash=0"], "> 0"),
    (["--budget", "cahs=1,2"], "unknown budget 'cahs'"),
    (["--budgets", "0.5:1:3", "--cost-scale", "coupon_9=2"], "unknown option"),
    (["--budgets", "0.5:1:3", "--value-scale", "coupon_1=-2"], ">= 0"),
    (["--budgets", "0.5:1:3", "--png", "plot.jpg"], "ending in .png"),
]


@pytest.mark.parametrize(("extra", "needle"), BAD)
def test_bad_input_exits_2_with_a_message_and_writes_nothing(
    instance_dir, tmp_path, capfd, extra, needle
):
    out = tmp_path / "out"
    argv = ["whatif", str(instance_dir), "--solver", "highs", "--out-dir", str(out),
            "--csv", str(tmp_path / "x.csv"), *extra]
    code = main(argv)
    err = capfd.readouterr().err
    assert code == 2
    assert needle in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_scenarios_that_do_not_sum_to_one_exit_2_and_write_nothing(tmp_path, capfd):
    src = tmp_path / "bad"
    write_instance(with_scenarios(small(10), [0.5, 0.3, 0.1]), src)
    out = tmp_path / "out"
    code = main(["whatif", str(src), "--budgets", "0.5:1:3", "--solver", "highs",
                 "--out-dir", str(out)])
    err = capfd.readouterr().err
    assert code == 2 and "sum to 1" in err
    assert not out.exists()


def test_scenario_points_carry_probabilities_and_the_expected_value(instance_dir, tmp_path, capfd):
    csv = tmp_path / "s.csv"
    code = main(["whatif", str(instance_dir), "--scenarios", "--solver", "highs",
                 "--csv", str(csv)])
    out = capfd.readouterr().out
    assert code == 0
    t = pd.read_csv(csv)
    assert list(t["probability"]) == [0.2, 0.3, 0.5]
    base = t["limit_cash"].iloc[0] / 0.6  # helpers.with_scenarios: 0.6, 0.8, 1.0 x the limit
    assert list(t["limit_cash"]) == pytest.approx([0.6 * base, 0.8 * base, base])
    expected = float((t["probability"] * t["value"]).sum())
    line = next(x for x in out.splitlines() if x.startswith("expected value"))
    assert float(line.rsplit(":", 1)[1]) == pytest.approx(expected, rel=1e-5)


def test_scenarios_flag_on_an_instance_without_scenarios_is_a_usage_error(tmp_path, capfd):
    src = tmp_path / "plain"
    write_instance(small(10), src)
    assert main(["whatif", str(src), "--scenarios", "--solver", "highs"]) == 2
    assert "no budget scenarios" in capfd.readouterr().err
