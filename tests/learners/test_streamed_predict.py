"""Predicting from a Parquet table chunk by chunk (formulations.feature_chunks) and into parts.

The streamed path must give exactly what the whole-table path gives (same units, same rows, same
instance), name the table's own row numbers in its errors, refuse a unit id repeated across
chunks after the fact without leaving a file behind, and write ``--parts`` that the Dask backend
solves to the in-memory result.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.solve import solve
from formulations.errors import InstanceError
from formulations.experiment_data import load_features, write_experiment
from formulations.feature_chunks import manifest_feature_chunks, open_feature_chunks
from formulations.instance_file import load_instance
from learners.instance_writer import write_predictions
from learners.methods import FitSpec, fit
from learners.simulate import FEATURES, Simulation
from learners.training import TrainingOptions
from treatalloc.cli import main

N = 230


@pytest.fixture(scope="module")
def model(small_sim: Simulation) -> object:
    spec = FitSpec(method="tsm-sl", options=TrainingOptions(epochs=3, batch_size=512, seed=3))
    return fit(small_sim.data["train"], spec, validation=small_sim.data["validation"])


def users_frame(sim: Simulation, n: int = N) -> pd.DataFrame:
    frame = sim.data["test"].features.iloc[:n].reset_index(drop=True).copy()
    frame.insert(0, "uid", [f"u{i:04d}" for i in range(n)])
    return frame


def write_users(folder: Path, frame: pd.DataFrame, *, unit: str | None = "uid") -> Path:
    manifest: dict[str, object] = {"name": "users", "features": list(FEATURES)}
    if unit:
        manifest["unit"] = unit
    return write_experiment(frame, folder, manifest, table_format="parquet")


def test_chunks_are_the_whole_table_in_order(small_sim: Simulation, tmp_path: Path) -> None:
    path = write_users(tmp_path / "u", users_frame(small_sim))
    whole = load_features(path)
    streamed = manifest_feature_chunks(path, chunk_rows=37)
    assert streamed is not None and streamed.n_units == N
    parts = list(streamed.chunks())
    assert [p.n_units for p in parts] == [37] * 6 + [N - 6 * 37]
    assert np.array_equal(np.concatenate([p.unit_ids for p in parts]), whole.unit_ids)
    pd.testing.assert_frame_equal(pd.concat([p.features for p in parts], ignore_index=True),
                                  whole.features)
    # without a unit column the ids are the table's row numbers, counted across chunks
    path = write_users(tmp_path / "n", users_frame(small_sim).drop(columns="uid"), unit=None)
    ids = np.concatenate([p.unit_ids for p in manifest_feature_chunks(path, chunk_rows=50)
                          .chunks()])  # type: ignore[union-attr]
    assert np.array_equal(ids, np.arange(N))


def test_streamed_instance_equals_the_whole_table_one(small_sim: Simulation, model: object,
                                                      tmp_path: Path) -> None:
    path = write_users(tmp_path / "u", users_frame(small_sim))
    write_predictions(model, load_features(path), 100.0, tmp_path / "whole")  # type: ignore[arg-type]
    chunks = manifest_feature_chunks(path)
    assert chunks is not None
    write_predictions(model, chunks, 100.0, tmp_path / "streamed",  # type: ignore[arg-type]
                      chunk_units=41)
    a = pd.read_parquet(tmp_path / "whole" / "options.parquet")
    b = pd.read_parquet(tmp_path / "streamed" / "options.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert a["unit"].iloc[0] == "u0000" and len(a) == N * 5


def test_errors_name_the_table_row_across_chunks(small_sim: Simulation, model: object,
                                                 tmp_path: Path) -> None:
    frame = users_frame(small_sim)
    bad = frame.copy()
    bad.loc[95, "history"] = np.nan
    path = write_experiment(bad, tmp_path / "nan", {"features": list(FEATURES), "unit": "uid"},
                            table_format="parquet", check=False)
    with pytest.raises(InstanceError, match=r"row 96, column 'history'.*NaN"):
        list(manifest_feature_chunks(path, chunk_rows=40).chunks())  # type: ignore[union-attr]
    # a repeat in another chunk is found after the last chunk; the instance is never written
    dup = frame.copy()
    dup.loc[201, "uid"] = "u0007"
    path = write_experiment(dup, tmp_path / "dup", {"features": list(FEATURES), "unit": "uid"},
                            table_format="parquet", check=False)
    chunks = manifest_feature_chunks(path, chunk_rows=40)
    with pytest.raises(InstanceError, match=r"row 202, column 'uid'.*duplicate unit id 'u0007'"):
        write_predictions(model, chunks, 10.0, tmp_path / "out")  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()
    # a missing column is refused before anything is read
    with pytest.raises(InstanceError, match=r"column 'nope'.*missing feature"):
        open_feature_chunks(tmp_path / "dup" / "data.parquet", features=["nope"])


def test_a_folder_of_parts_reads_in_name_order(small_sim: Simulation, tmp_path: Path) -> None:
    frame = users_frame(small_sim)
    folder = tmp_path / "parts"
    folder.mkdir()
    # written out of order: the order is the file names', as pandas reads a folder
    frame.iloc[150:].to_parquet(folder / "part-1.parquet", index=False)
    frame.iloc[:150].to_parquet(folder / "part-0.parquet", index=False)
    (folder / "_SUCCESS").write_text("")
    chunks = open_feature_chunks(folder, features=list(FEATURES), unit="uid", chunk_rows=64)
    ids = np.concatenate([p.unit_ids for p in chunks.chunks()])
    assert np.array_equal(ids, pd.read_parquet(folder)["uid"].to_numpy())
    assert list(ids[:2]) == ["u0000", "u0001"]


def test_parts_solve_on_dask_to_the_in_memory_dual(small_sim: Simulation, model: object,
                                                   tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    from engine.distributed.dask_dual import solve_dual_dask

    path = write_users(tmp_path / "u", users_frame(small_sim))
    chunks = manifest_feature_chunks(path, chunk_rows=30)
    assert chunks is not None
    write_predictions(model, chunks, 60.0, tmp_path / "parts",  # type: ignore[arg-type]
                      parts=4)
    files = sorted((tmp_path / "parts" / "options").iterdir())
    assert [f.name for f in files] == [f"part-{i:05d}.parquet" for i in range(4)]
    sizes = [pd.read_parquet(f)["unit"].nunique() for f in files]
    assert sizes == [58, 58, 58, 56]  # ceil(230 / 4) consecutive units, each in one part
    write_predictions(model, load_features(path), 60.0, tmp_path / "one")  # type: ignore[arg-type]
    one = load_instance(tmp_path / "one")
    parts = load_instance(tmp_path / "parts")
    assert np.array_equal(one.value, parts.value) and np.array_equal(one.costs, parts.costs)
    ref = solve(one, "dual")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        dask = solve_dual_dask(tmp_path / "parts" / "instance.toml",
                               options={"scheduler": cluster.scheduler_address,
                                        "out": str(tmp_path / "alloc")})
    assert dask.status == ref.status  # 230 units: a small gap, "feasible" for both
    assert dask.objective == pytest.approx(ref.objective, rel=1e-9)
    assert dask.bound == pytest.approx(ref.bound, rel=1e-9)


def test_cli_predict_streams_parquet_and_writes_parts(small_sim: Simulation, model: object,
                                                      tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from learners.saved import save_model

    save_model(model, tmp_path / "m")  # type: ignore[arg-type]
    path = write_users(tmp_path / "u", users_frame(small_sim))
    out = tmp_path / "inst"
    rc = main(["predict", str(tmp_path / "m"), str(path), "--budget", "0.3", "--per-capita",
               "--out", str(out), "--parts", "3", "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["units"] == N and summary["limit"] == pytest.approx(0.3 * N)
    assert len(list((out / "options").glob("part-*.parquet"))) == 3
    assert np.array_equal(load_instance(out).value, model.to_instance(  # type: ignore[attr-defined]
        load_features(path), 0.3, per_capita=True).value)
    rc = main(["predict", str(tmp_path / "m"), str(path), "--budget", "0.3", "--out",
               str(tmp_path / "x"), "--parts", "0"])
    assert rc == 2 and not (tmp_path / "x").exists()
    assert "--parts: expected a positive number" in capsys.readouterr().err


def test_integer_ids_rising_or_not(small_sim: Simulation, tmp_path: Path) -> None:
    frame = users_frame(small_sim).drop(columns="uid")
    frame.insert(0, "uid", np.arange(1000, 1000 + N, dtype=np.int64) * 3)
    manifest = {"features": list(FEATURES), "unit": "uid"}
    path = write_experiment(frame, tmp_path / "ok", manifest, table_format="parquet")
    ids = np.concatenate([p.unit_ids for p in manifest_feature_chunks(path, chunk_rows=40)
                          .chunks()])  # type: ignore[union-attr]
    assert np.array_equal(ids, frame["uid"].to_numpy())
    # shuffled ids without a repeat pass; a repeat of an id from an earlier chunk is found
    shuffled = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    path = write_experiment(shuffled, tmp_path / "sh", manifest, table_format="parquet")
    assert sum(p.n_units for p in manifest_feature_chunks(path, chunk_rows=40)  # type: ignore[union-attr]
               .chunks()) == N
    dup = frame.copy()
    dup.loc[201, "uid"] = dup.loc[3, "uid"]
    path = write_experiment(dup, tmp_path / "dup", manifest, table_format="parquet", check=False)
    with pytest.raises(InstanceError, match=r"row 202, column 'uid'.*duplicate unit id"):
        list(manifest_feature_chunks(path, chunk_rows=40).chunks())  # type: ignore[union-attr]
