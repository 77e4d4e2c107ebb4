"""``predict --parts N --backend dask`` (learners/dask_predict.py): the same parts, row for row,
as the one-process stream; the plan cuts along row groups; errors and repeated ids as there."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from formulations.errors import InstanceError
from formulations.experiment_data import write_experiment
from formulations.feature_chunks import manifest_feature_chunks
from formulations.instance_file import load_instance
from learners.dask_predict import plan_ranges, write_predictions_dask
from learners.instance_writer import write_predictions
from learners.methods import FitSpec, fit
from learners.saved import save_model
from learners.simulate import FEATURES, Simulation
from learners.training import TrainingOptions
from treatalloc.cli import main

N = 230


@pytest.fixture(scope="module")
def model_dir(small_sim: Simulation, tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = FitSpec(method="tsm-sl", options=TrainingOptions(epochs=3, batch_size=512, seed=3))
    folder = tmp_path_factory.mktemp("model") / "m"
    save_model(fit(small_sim.data["train"], spec, validation=small_sim.data["validation"]),
               folder)
    return folder


@pytest.fixture(scope="module")
def cluster():  # type: ignore[no-untyped-def]
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as c:
        yield c


def users(sim: Simulation, folder: Path, *, ids: np.ndarray | None = None,
          row_group: int = 50) -> Path:
    frame = sim.data["test"].features.iloc[:N].reset_index(drop=True).copy()
    frame.insert(0, "uid", ids if ids is not None else np.arange(N, dtype=np.int64) * 7 + 3)
    path = write_experiment(frame, folder, {"name": "users", "features": list(FEATURES),
                                            "unit": "uid"}, table_format="parquet",
                            check=False)
    # several row groups per file, so that a range starts and ends inside one
    table = next(folder.glob("*.parquet"))
    pd.read_parquet(table).to_parquet(table, row_group_size=row_group)
    return path


def test_the_plan_cuts_consecutive_ranges_along_row_groups(small_sim: Simulation,
                                                           tmp_path: Path) -> None:
    chunks = manifest_feature_chunks(users(small_sim, tmp_path / "u"))
    assert chunks is not None
    ranges = plan_ranges(chunks, 4)
    assert [(r.start, r.n) for r in ranges] == [(0, 58), (58, 58), (116, 58), (174, 56)]
    # 58 rows from row groups of 50: the second range is rows 8..50 of group 1 and 0..16 of 2
    assert [(g, lo, hi) for _, g, lo, hi in ranges[1].pieces] == [(1, 8, 50), (2, 0, 16)]
    assert len(plan_ranges(chunks, 1000)) == N  # never an empty part


def test_parts_equal_the_one_process_stream(small_sim: Simulation, model_dir: Path,
                                            cluster: object, tmp_path: Path) -> None:
    from learners.saved import load_model

    path = users(small_sim, tmp_path / "u")
    chunks = manifest_feature_chunks(path, chunk_rows=20)
    assert chunks is not None
    ref = write_predictions(load_model(model_dir), chunks, 60.0, tmp_path / "ref", parts=4)
    got = write_predictions_dask(model_dir, chunks, 60.0, tmp_path / "dask", parts=4,
                                 dask_options={"scheduler": cluster.scheduler_address})  # type: ignore[attr-defined]
    names = sorted(f.name for f in (tmp_path / "dask" / "options").iterdir())
    assert names == sorted(f.name for f in (tmp_path / "ref" / "options").iterdir())
    for name in names:
        a = pd.read_parquet(tmp_path / "ref" / "options" / name)
        b = pd.read_parquet(tmp_path / "dask" / "options" / name)
        pd.testing.assert_frame_equal(a, b)
    assert (got.n_units, got.n_rows) == (ref.n_units, ref.n_rows)
    assert got.all_max_spend == pytest.approx(ref.all_max_spend, rel=1e-12)
    one, two = load_instance(tmp_path / "ref"), load_instance(tmp_path / "dask")
    assert np.array_equal(one.value, two.value) and np.array_equal(one.costs, two.costs)
    assert (tmp_path / "dask" / "instance.toml").read_text() == (
        tmp_path / "ref" / "instance.toml").read_text()


def test_a_repeated_id_across_parts_is_refused_and_nothing_is_left(
    small_sim: Simulation, model_dir: Path, cluster: object, tmp_path: Path
) -> None:
    ids = np.arange(N, dtype=np.int64)
    ids[200] = ids[10]  # in another part than its first use
    chunks = manifest_feature_chunks(users(small_sim, tmp_path / "u", ids=ids))
    assert chunks is not None
    with pytest.raises(InstanceError, match=r"row 201, column 'uid'.*duplicate unit id"):
        write_predictions_dask(model_dir, chunks, 60.0, tmp_path / "out", parts=3,
                               dask_options={"scheduler": cluster.scheduler_address})  # type: ignore[attr-defined]
    assert not (tmp_path / "out").exists()
    # a bad value in a worker's range: the table's own row number, nothing written
    frame = pd.read_parquet(next((tmp_path / "u").glob("*.parquet")))
    frame.loc[150, FEATURES[0]] = np.nan
    frame["uid"] = np.arange(N)

    def refused(pattern: str) -> None:
        bad = tmp_path / "bad"
        write_experiment(frame, bad, {"name": "users", "features": list(FEATURES),
                                      "unit": "uid"}, table_format="parquet", check=False)
        chunks = manifest_feature_chunks(bad)
        assert chunks is not None
        with pytest.raises(InstanceError, match=pattern):
            write_predictions_dask(model_dir, chunks, 60.0, tmp_path / "out", parts=3,
                                   dask_options={"scheduler": cluster.scheduler_address})  # type: ignore[attr-defined]
        assert not (tmp_path / "out").exists()
        assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())

    refused(r"row 151")
    # two bad ranges: the first in table order is named, as the stream names it, whichever
    # task fails first
    frame.loc[40, FEATURES[1]] = np.inf
    refused(r"row 41\b")


def test_relative_paths_reach_the_workers(small_sim: Simulation, model_dir: Path,
                                         cluster: object, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    users(small_sim, tmp_path / "u")
    monkeypatch.chdir(tmp_path)
    chunks = manifest_feature_chunks(Path("u") / "data.toml")
    assert chunks is not None and not chunks.path.is_absolute()
    got = write_predictions_dask(model_dir, chunks, 60.0, "rel", parts=2,
                                 dask_options={"scheduler": cluster.scheduler_address})  # type: ignore[attr-defined]
    assert got.n_units == N and len(list((tmp_path / "rel" / "options").iterdir())) == 2


def test_cli_predict_on_dask_then_solve_on_dask(small_sim: Simulation, model_dir: Path,
                                                cluster: object, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = users(small_sim, tmp_path / "u")
    out = tmp_path / "inst"
    address = cluster.scheduler_address  # type: ignore[attr-defined]
    rc = main(["predict", str(model_dir), str(path), "--budget", "0.3", "--per-capita",
               "--out", str(out), "--parts", "3", "--backend", "dask", "--scheduler", address,
               "--json"])
    assert rc == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out)
    assert summary["units"] == N and len(list((out / "options").glob("part-*.parquet"))) == 3
    rc = main(["solve", str(out), "--solver", "dual", "--backend", "dask", "--scheduler",
               address, "--out", str(tmp_path / "alloc")])
    assert rc == 0, capsys.readouterr().err
    assert len(pd.read_parquet(tmp_path / "alloc")) == N
    rc = main(["predict", str(model_dir), str(path), "--budget", "0.3", "--out",
               str(tmp_path / "x"), "--backend", "dask"])
    assert rc == 2 and "--backend dask: give --parts N" in capsys.readouterr().err
