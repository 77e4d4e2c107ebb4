"""The Dask backend of ``dual``: same objective and bound as the in-memory solver, on a 2-worker
LocalCluster (processes), from in-memory instances and from partitioned Parquet instances."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

import engine.distributed.dask_dual as dd
from engine import solve
from engine.distributed.dask_dual import solve_dual_dask
from engine.distributed.parts import read_header, read_part, write_instance_parts
from formulations import evaluate, from_dense, load_instance
from formulations.errors import InstanceError, UsageError
from formulations.synthetic import synthetic_instance
from treatalloc.cli import main

REL = 1e-9


@pytest.fixture
def cluster(dask_client):
    """The shared cluster, seen through what a user has of an existing one: its address."""
    return dask_client.cluster


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(1.0, abs(b))


def _ragged(seed: int):
    """Units with 2..5 options (a padded dense view)."""
    inst = synthetic_instance(3000, 5, seed=seed)
    rng = np.random.default_rng(seed)
    d = inst.dense()
    keep = rng.random(d.value.shape) < 0.7
    keep[:, 0] = True
    full = from_dense(d.value, d.costs, list(inst.limits))
    rows = keep.reshape(-1)
    counts = keep.sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return full.replace(offsets=offsets, option_codes=full.option_codes[rows],
                        value=full.value[rows], costs=full.costs[:, rows], name="ragged")


CASES = {
    "exactly-one": lambda: synthetic_instance(20_000, 5, seed=11),
    "at-most-one": lambda: synthetic_instance(6_000, 4, seed=12, choose="at-most-one"),
    "integral-costs": lambda: synthetic_instance(8_000, 5, seed=13, integral_costs=True),
    "ragged": lambda: _ragged(14),
    "everything-fits": lambda: synthetic_instance(2_000, 3, seed=15, budget_fraction=1.5),
}


@pytest.mark.parametrize("case", list(CASES))
def test_in_memory_input_equals_numpy_dual(cluster, case):
    inst = CASES[case]()
    ref = solve(inst, "dual")
    res = solve_dual_dask(inst, options={"scheduler": cluster.scheduler_address,
                                         "partition_rows": 5_000})
    assert res.status in ("optimal", "feasible")
    assert _same(res.objective, ref.objective), (res.objective, ref.objective)
    assert _same(res.bound, ref.bound), (res.bound, ref.bound)
    assert evaluate(inst, res.assignment).feasible
    assert res.detail["partitions"] > 1


@pytest.mark.parametrize("persist", ["true", "false"])
def test_parquet_parts_equal_numpy_dual(cluster, tmp_path, persist):
    inst = synthetic_instance(15_000, 5, seed=21)
    manifest = write_instance_parts(inst, tmp_path / "inst", units_per_part=4_000)
    ref = solve(load_instance(manifest), "dual")
    out = tmp_path / "alloc"
    res = solve_dual_dask(manifest, options={"scheduler": cluster.scheduler_address,
                                             "persist": persist, "out": str(out)})
    assert res.detail["persisted"] == (persist == "true")
    assert res.assignment is None  # never gathered on the driver
    assert _same(res.objective, ref.objective) and _same(res.bound, ref.bound)
    # the allocation the workers wrote is the one reported
    alloc = pd.read_parquet(out)
    assert len(alloc) == inst.n_units
    from engine.validate import assignment_from_frame

    a = assignment_from_frame(inst, alloc)
    ev = evaluate(inst, a)
    assert ev.feasible and _same(ev.objective, res.objective)
    assert _same(float(ev.usage[0]), res.usage["cash"])


def test_refined_histogram_rounds_give_the_same_answer(cluster, monkeypatch):
    inst = synthetic_instance(10_000, 5, seed=31)
    monkeypatch.setattr(dd, "SELECT_CAP", 50)
    res = solve_dual_dask(inst, options={"scheduler": cluster.scheduler_address,
                                         "partition_rows": 9_000})
    ref = solve(inst, "dual")
    assert res.detail["histogram_rounds"] >= 2
    assert res.detail["bracket_increments"] <= 50
    assert _same(res.objective, ref.objective) and _same(res.bound, ref.bound)


def test_engine_solve_delegates_with_backend_dask(cluster):
    inst = synthetic_instance(5_000, 5, seed=41)
    res = solve(inst, "dual", options={"backend": "dask", "scheduler": cluster.scheduler_address})
    assert res.solver == "dual-dask"
    assert _same(res.objective, solve(inst, "dual").objective)


def test_infeasible_and_refused(cluster, tmp_path):
    inst = synthetic_instance(1_000, 4, seed=51, choose="exactly-one")
    tight = inst.with_limits([-1.0])
    res = solve_dual_dask(tight, options={"scheduler": cluster.scheduler_address})
    assert res.status == "infeasible" and res.objective is None
    with pytest.raises(UsageError, match="cannot connect"):
        solve_dual_dask(inst, options={"scheduler": "tcp://127.0.0.1:9", "connect_timeout": 1})


def test_part_reader_checks(tmp_path):
    inst = synthetic_instance(50, 3, seed=61)
    manifest = write_instance_parts(inst, tmp_path / "i", units_per_part=20)
    header = read_header(manifest)
    assert len(header.parts) == 3
    chunk = read_part(header.parts[1], header)
    assert chunk.n_units == 20 and np.array_equal(chunk.unit_ids, np.arange(20, 40))
    df = pd.read_parquet(header.parts[0])
    df = pd.concat([df, df.iloc[[3]]])
    df.to_parquet(header.parts[0])
    with pytest.raises(InstanceError, match="duplicate"):
        read_part(header.parts[0], header)


def test_cli_scheduler_address_json_and_out(cluster, tmp_path, capfd):
    inst = synthetic_instance(12_000, 5, seed=71)
    manifest = write_instance_parts(inst, tmp_path / "inst", units_per_part=5_000)
    ref = solve(inst, "dual")
    out = tmp_path / "alloc.parquet"
    code = main(["solve", str(manifest), "--solver", "dual", "--backend", "dask",
                 "--scheduler", cluster.scheduler_address, "--json", "--out", str(out)])
    stdout, _err = capfd.readouterr()
    assert code == 0
    data = json.loads(stdout)
    assert data["solver"] == "dual-dask" and data["detail"]["partitions"] == 3
    assert _same(data["objective"], ref.objective) and _same(data["bound"], ref.bound)
    assert out.is_dir() and len(list(out.glob("part-*.parquet"))) == 3
    assert len(pd.read_parquet(out)) == 12_000
    assert main(["solve", str(manifest), "--solver", "dual", "--backend", "dask",
                 "--scheduler", cluster.scheduler_address, "--out", "x.csv"]) == 2
    assert "folder of Parquet parts" in capfd.readouterr().err
