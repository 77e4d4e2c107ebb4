"""TSM-SL training throughput against a bare torch loop, and reading 10^7 rows into tensors.

    .venv/bin/python benchmarks/bench_learner_throughput.py [--rows 1000000] [--repeats 3]
        [--read-rows 10000000] [--skip-read]

Two network shapes (papers.md §1.8): 12 features, trunk 64-32-32, 2 arms (4 outputs: the Criteo
net) and 192 features, trunk 128-64-32, 5 arms (10 outputs). For each:

* the yardstick: a bare loop of Adam steps on random tensors (batch 8192) through the same
  network, no data handling at all;
* ``learners.two_stage.fit_two_stage``: whole epochs over ``--rows`` training rows with their IPW
  weights (the unbiased RCT prediction loss), plus the validation EOM after every epoch (10
  budgets on 100,000 validation rows), batch 8192.

Samples per second are medians over ``--repeats`` runs (one epoch each after a warm-up epoch).
The read benchmark writes a Parquet experiment table of ``--read-rows`` rows (12 features),
then times ``load_experiment`` + ``experiment_tensors``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def synthetic(n: int, n_features: int, n_arms: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_features)).astype(np.float32)
    arm = rng.integers(0, n_arms, n)
    lift = 0.1 * arm * (1 + np.tanh(x[:, 0]))
    y = rng.poisson(np.exp(0.3 * x[:, 1]) * (1 + lift)).astype(np.float64)
    df = pd.DataFrame(x, columns=[f"f{j}" for j in range(n_features)])
    df["arm"] = arm.astype(str)
    df["y"] = y
    df["c"] = y * arm
    return df


def experiment(df: pd.DataFrame, n_features: int) -> object:
    from formulations.experiment_data import experiment_from_frame

    return experiment_from_frame(df, treatment="arm", outcome="y", control="0", cost="c",
                                 features=[f"f{j}" for j in range(n_features)], name="bench")


def bare_loop(n: int, n_features: int, hidden: tuple[int, ...], outputs: int,
              batch: int, repeats: int) -> float:
    import torch
    from torch import nn

    torch.manual_seed(0)
    layers: list[nn.Module] = []
    w = n_features
    for h in hidden:
        layers += [nn.Linear(w, h), nn.ReLU()]
        w = h
    net = nn.Sequential(*layers, nn.Linear(w, outputs))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(n, n_features)
    y = torch.randn(n, outputs)
    rates = []
    for r in range(repeats + 1):
        t = time.perf_counter()
        for s in range(0, n, batch):
            out = net(x[s:s + batch])
            loss = (out - y[s:s + batch]).square().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if r:  # the first pass warms up
            rates.append(n / (time.perf_counter() - t))
    return statistics.median(rates)


def our_loop(n: int, n_features: int, hidden: tuple[int, ...], n_arms: int,
             batch: int, repeats: int) -> tuple[float, float]:
    from learners.training import TrainingOptions
    from learners.two_stage import fit_two_stage

    train = experiment(synthetic(n, n_features, n_arms, 1), n_features)
    val = experiment(synthetic(100_000, n_features, n_arms, 2), n_features)
    rates, val_share = [], []
    for _ in range(repeats):
        opts = TrainingOptions(epochs=2, patience=10, batch_size=batch, seed=0)
        _, res = fit_two_stage(train, method="tsm-sl", validation=val, options=opts,  # type: ignore[arg-type]
                               hidden=hidden)
        last = res.log.iloc[-1]  # the second epoch: the first one warms up
        rates.append(float(last["samples_per_s"]))
        val_share.append(float(last.get("val_seconds", float("nan"))) / float(last["seconds"]))
    return statistics.median(rates), statistics.median(val_share)


def read_benchmark(rows: int) -> float:
    from formulations.experiment_data import load_experiment, write_experiment
    from learners.features import FeatureSchema
    from learners.tensors import experiment_tensors

    with tempfile.TemporaryDirectory() as tmp:
        df = synthetic(rows, 12, 5, 3)
        write_experiment(df, Path(tmp), {
            "treatment": "arm", "control": "0", "outcome": "y", "cost": "c",
            "features": [f"f{j}" for j in range(12)]}, table_format="parquet", check=False)
        del df
        t = time.perf_counter()
        data = load_experiment(tmp)
        schema = FeatureSchema.fit(data.features)
        tensors = experiment_tensors(data, schema)
        seconds = time.perf_counter() - t
        assert tensors.n_units == rows
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8192)
    ap.add_argument("--read-rows", type=int, default=10_000_000)
    ap.add_argument("--skip-read", action="store_true")
    args = ap.parse_args()
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, rows {args.rows:,}, "
          f"batch {args.batch}, median of {args.repeats}")
    print("| features | trunk | outputs | bare loop (samples/s) | fit_two_stage (samples/s) "
          "| ratio | validation share of epoch |")
    print("|---|---|---|---|---|---|---|")
    for f, hidden, arms in ((12, (64, 32, 32), 2), (192, (128, 64, 32), 5)):
        bare = bare_loop(args.rows, f, hidden, 2 * arms, args.batch, args.repeats)
        ours, vshare = our_loop(args.rows, f, hidden, arms, args.batch, args.repeats)
        print(f"| {f} | {'-'.join(map(str, hidden))} | {2 * arms} | {bare:,.0f} | {ours:,.0f} "
              f"| {ours / bare:.2f} | {vshare:.1%} |")
    if not args.skip_read:
        s = read_benchmark(args.read_rows)
        print(f"read {args.read_rows:,} rows (12 features) from Parquet into tensors: {s:.2f} s")


if __name__ == "__main__":
    main()
