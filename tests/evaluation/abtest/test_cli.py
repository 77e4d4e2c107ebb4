"""treatalloc abtest: the table, the CSV and PNG, and clear exit-2 errors on bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import shared_data
from treatalloc.cli import main


def _write(tmp: Path, extra: dict[str, Any] | None = None, n: int = 600, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    arm = rng.choice(["control", "A", "B"], n)
    y = 3 + x + 0.4 * (arm == "A") + rng.standard_normal(n)
    sessions = 1 + rng.poisson(3, n)
    frame = pd.DataFrame({"y": y, "arm": arm, "x": x, "sessions": sessions,
                          "orders": rng.poisson(0.2 * sessions), "channel":
                          rng.choice(["web", "app"], n), "t01": (arm != "control").astype(int)})
    for k, v in (extra or {}).items():
        frame[k] = v
    path = tmp / "data.csv"
    frame.to_csv(path, index=False)
    return path


def test_multi_arm_table_csv_and_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _write(tmp_path)
    out_csv, out_png = tmp_path / "out.csv", tmp_path / "out.png"
    rc = main(["abtest", str(data), "--metric", "y", "--treatment", "arm", "--control", "control",
               "--covariates", "x", "channel", "--predictor", "ridge", "--csv", str(out_csv),
               "--png", str(out_png)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "p_holm" in printed and "mlrate" in printed
    table = pd.read_csv(out_csv)
    assert len(table) == 12 and set(table["variant"]) == {"A", "B"}
    assert table["p_holm"].notna().all() and (table["p_holm"] >= table["p_value"] - 1e-15).all()
    a_dim = table[(table["variant"] == "A") & (table["method"] == "dim")].iloc[0]
    assert 0.1 < a_dim["effect"] < 0.7
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ratio_metric_and_binary_treatment(tmp_path: Path) -> None:
    data = _write(tmp_path)
    out = tmp_path / "r.csv"
    rc = main(["abtest", str(data), "--ratio", "orders/sessions", "--treatment", "t01",
               "--covariates", "x", "--method", "dim,cuped,mlrate", "--predictor", "ridge",
               "--csv", str(out)])
    assert rc == 0
    table = pd.read_csv(out)
    assert list(table["method"]) == ["dim", "cuped", "mlrate"]
    assert (table["metric"] == "orders/sessions").all()


def test_nsw_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = shared_data("lalonde_nsw", "nsw_mixtape.csv")
    rc = main(["abtest", str(path), "--metric", "re78", "--treatment", "treat", "--covariates",
               "re74", "re75", "--method", "dim,cuped,state", "--predictor", "ridge"])
    assert rc == 0
    out = capsys.readouterr()
    assert "1794.3" in out.out
    assert "fell back to mlrate" in out.out and "warning" in out.err


@pytest.mark.parametrize(
    ("args", "extra", "message"),
    [
        (["--metric", "y", "--treatment", "one"], {"one": "x"}, "only one arm"),
        (["--metric", "flat", "--treatment", "t01"], {"flat": 1.0}, "constant"),
        (["--ratio", "orders/zeros", "--treatment", "t01"], {"zeros": 0}, "sums to zero"),
        (["--metric", "y", "--treatment", "t01", "--covariates", "nope"], {}, "nope"),
        (["--metric", "y", "--treatment", "arm"], {}, "--control"),
        (["--metric", "gap", "--treatment", "t01"], {"gap": [np.nan] + [1.0] * 599},
         "missing or non-numeric"),
        (["--metric", "y", "--treatment", "arm", "--control", "zz"], {}, "not an arm"),
        (["--metric", "y", "--treatment", "t01", "--method", "magic"], {}, "method"),
        (["--treatment", "t01"], {}, "--metric"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
    extra: dict[str, object], message: str,
) -> None:
    data = _write(tmp_path, extra)
    rc = main(["abtest", str(data), *args, "--predictor", "ridge"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert message in err
    assert "Traceback" not in err


def test_ratio_denominator_zero_in_one_arm(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    data = _write(tmp_path)
    frame = pd.read_csv(data)
    frame.loc[frame["t01"] == 1, "sessions"] = 0
    frame.to_csv(data, index=False)
    rc = main(["abtest", str(data), "--ratio", "orders/sessions", "--treatment", "t01"])
    assert rc == 2
    assert "sums to zero in the variant arm" in capsys.readouterr().err
