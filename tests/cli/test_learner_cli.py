"""simulate / fit / predict / evaluate from the command line: the README's flow and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from treatalloc.cli import main


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated campaign and a model fitted on it by the CLI."""
    d = tmp_path_factory.mktemp("flow")
    assert main(["simulate", str(d / "sim"), "--setting", "plentiful", "--users", "6000",
                 "--obs", "300", "--seed", "2"]) == 0
    assert main(["fit", str(d / "sim" / "train"), "--validation", str(d / "sim" / "validation"),
                 "--method", "tsm-sl", "--epochs", "8", "--warmup", "1", "--model-dir",
                 str(d / "model"), "--quiet"]) == 0
    return d


def one_error_line(capsys: pytest.CaptureFixture[str], command: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"treatalloc {command}: error: "), err[0]
    return err[0]


def test_log_to_allocation_and_eom_plot(flow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    inst = flow / "instance"
    assert main(["predict", str(flow / "model"), str(flow / "sim" / "test"), "--budget", "1.0",
                 "--per-capita", "--out", str(inst), "--parquet", "--json"]) == 0
    pred = json.loads(capsys.readouterr().out)
    assert pred["units"] == 2250 and pred["rows"] == 2250 * 5
    assert pred["limit"] == pytest.approx(2250.0)
    assert main(["solve", str(inst), "--solver", "dual", "--json",
                 "--out", str(flow / "alloc.csv")]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["status"] in ("optimal", "feasible") and res["usage"]["cost"] <= 2250.0
    alloc = pd.read_csv(flow / "alloc.csv")
    assert len(alloc) == 2250 and set(alloc["arm"]) <= {f"coupon_{d}" for d in (0, 1, 2, 3, 5)}
    out = flow / "eval"
    assert main(["evaluate", str(flow / "sim" / "test"), "--model", str(flow / "model"),
                 "--truth", str(flow / "sim"), "--per-capita", "0.5:2:3", "--n-boot", "50",
                 "--csv", str(out / "eom.csv"), "--png", str(out / "eom.png"), "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["budgets"] == [0.5, 1.25, 2.0] and ev["truth"] is True
    assert {"data", "units", "arms", "form", "models", "rows", "prediction_metrics"} <= set(ev)
    row = ev["rows"][0]
    for key in ("value", "value_lo", "value_hi", "uplift", "spend", "true_uplift", "capture",
                "deploy_true_spend"):
        assert key in row, key
    assert row["spend"] <= 0.5 + 1e-9 and row["value_lo"] <= row["value"] <= row["value_hi"]
    assert (out / "eom.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(pd.read_csv(out / "eom.csv")) == 3


def test_two_models_and_text_output(flow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m2 = flow / "gbm"
    assert main(["fit", str(flow / "sim" / "train"), "--method", "sklearn", "-P", "max_iter=20",
                 "--model-dir", str(m2), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(flow / "sim" / "test"), "--model", str(flow / "model"),
                 "--model", str(m2), "--n-boot", "50"]) == 0
    text = capsys.readouterr().out
    assert "vs model" in text and "gbm: sklearn" in text and "prediction errors" in text


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["fit", "{d}/log.csv", "--method", "tsm-sl", "--model-dir", "{d}/m"],
         "--treatment, --outcome, --control, --features"),
        (["fit", "{flow}/sim/train", "--method", "tsm-sl", "--model-dir", "{d}/m",
          "--hidden", "64,x"], "--hidden"),
        (["fit", "{flow}/sim/train", "--method", "tsm-sl", "--model-dir", "{d}/m",
          "--per-capita", "1:2"], "--per-capita"),
        (["fit", "{flow}/sim/train", "--method", "tsm-sl", "--model-dir", "{flow}/model"],
         "already exists"),
        (["fit", "{flow}/sim/train", "--method", "tsm-sl", "--model-dir", "{d}/m",
          "--estimator", "sklearn.linear_model:Ridge"], "--estimator"),
        (["fit", "{flow}/sim/train", "--method", "sklearn", "--model-dir", "{d}/m",
          "--estimator", "sklearn.nothing:Ridge"], "cannot import module"),
        (["fit", "{flow}/sim/train", "--method", "tsm-sl", "--model-dir", "{d}/m",
          "--device", "cuda"], "--device cuda"),
        (["fit", "{flow}/sim/train", "--method", "tsm-sl", "--model-dir", "{d}/m",
          "--treatment", "arm"], "--treatment: only for a bare table"),
        (["predict", "{d}/nomodel", "{flow}/sim/test", "--budget", "1", "--out", "{d}/i"],
         "no saved model here"),
        (["predict", "{flow}/model", "{d}/nofeat.csv", "--features", "x0", "--budget", "1",
          "--out", "{d}/i"], "column 'x0': missing feature"),
        (["predict", "{flow}/model", "{d}/nofeat.csv", "--features", "x1", "--budget", "1",
          "--out", "{d}/i"], "column 'x0': feature missing; the model was trained on"),
        (["predict", "{flow}/model", "{d}/badcity.csv", "--features", "{features}",
          "--budget", "1", "--out", "{d}/i"], "was not seen in training"),
        (["predict", "{flow}/model", "{flow}/sim/test", "--budget", "-1", "--out", "{d}/i"],
         "budget: expected >= 0"),
        (["evaluate", "{flow}/sim/obs", "--model", "{flow}/model"], "observational"),
        (["evaluate", "{flow}/sim/test", "--model", "{flow}/model", "--png", "{d}/e.jpg"],
         "--png"),
        (["evaluate", "{flow}/sim/test", "--model", "{flow}/model", "--n-boot", "-3"],
         "--n-boot"),
        (["simulate", "{flow}/sim"], "already exists"),
        (["simulate", "{d}/s", "--users", "5"], "at least 30"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    flow: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], names: str,
) -> None:
    from learners.simulate import FEATURES

    test = pd.read_csv(flow / "sim" / "test" / "data.csv")
    test.drop(columns="x0").head(20).to_csv(tmp_path / "nofeat.csv", index=False)
    test.assign(city=np.where(test.index == 3, "atlantis", test.city)).head(20).to_csv(
        tmp_path / "badcity.csv", index=False)
    test.head(50).to_csv(tmp_path / "log.csv", index=False)
    before = set(tmp_path.iterdir())
    args = [a.format(d=tmp_path, flow=flow, features=" ".join(FEATURES)) for a in argv]
    if "--features" in args:  # one argument per feature name
        i = args.index("--features")
        args = args[: i + 1] + args[i + 1].split() + args[i + 2:]
    capsys.readouterr()
    code = main(args)
    assert code == 2
    line = one_error_line(capsys, args[0])
    assert names in line, line
    assert set(tmp_path.iterdir()) == before  # nothing written
