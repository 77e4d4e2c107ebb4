"""Training cost per epoch of every method against TSM-SL on the same 1,000,000 rows.

    .venv/bin/python benchmarks/bench_dfl_epoch_cost.py [--rows 1000000] [--repeats 2]

Data: the simulator (setting plentiful) with 2 x ``--rows`` RCT users, so that the training
split has ``--rows`` rows (5 arms, 13 feature columns, 17 encoded inputs, trunk 64-32-32);
validation 1/4 of that. Every method is fitted through ``learners.methods.fit`` for 2 epochs
(batch 8192; dual methods with λ set {0.02, 0.05, 0.1}, primal ones at a per-capita budget of
1.0, from a random start). The cost of an epoch is the wall time of the second epoch without
its validation scoring (the training steps plus, for the primal methods, the λ* refresh on a
random subset of 50,000 training rows before the epoch); ``λ* share`` is the refresh's part of
the epoch. Medians over ``--repeats`` fits; ratios are to TSM-SL in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import warnings


def main() -> None:
    from learners.decision_focused import DecisionSpec
    from learners.methods import FitSpec, fit
    from learners.simulate import simulate
    from learners.training import TrainingOptions

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--methods", default="tsm-sl,dfcl-pl,dfcl-mer,dfcl-ifd,dfcl-ppl,dfcl-pifd,"
                                        "dhcl")
    args = ap.parse_args()
    sim = simulate("plentiful", n_users=2 * args.rows, n_obs=0, seed=0)
    train, val = sim.data["train"], sim.data["validation"]
    opts = TrainingOptions(epochs=2, patience=5, warmup=0, batch_size=8192, seed=0)
    specs = {"dfcl-pl": DecisionSpec(lambdas=(0.02, 0.05, 0.1)),
             "dfcl-mer": DecisionSpec(lambdas=(0.02, 0.05, 0.1)),
             "dfcl-ifd": DecisionSpec(lambdas=(0.02, 0.05, 0.1)),
             "dfcl-ppl": DecisionSpec(budget=1.0), "dfcl-pifd": DecisionSpec(budget=1.0),
             "dhcl": DecisionSpec()}
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {train.n_units:,} "
          f"training rows, {val.n_units:,} validation rows, batch 8192")
    rows = []
    for m in args.methods.split(","):
        epoch, hook, valsec = [], [], []
        for _ in range(args.repeats):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p = fit(train, FitSpec(m, opts, decision=specs.get(m)), validation=val)
            last = p.training_log.iloc[-1]
            epoch.append(float(last["seconds"] - last["val_seconds"]))
            hook.append(float(last["hook_seconds"]))
            valsec.append(float(last["val_seconds"]))
        rows.append((m, statistics.median(epoch), statistics.median(hook),
                     statistics.median(valsec)))
    base = rows[0][1] if rows and rows[0][0] == "tsm-sl" else float("nan")
    print("| method | epoch (s) | ratio to tsm-sl | λ* refresh (s) | λ* share of the epoch | "
          "validation scoring (s) |")
    print("|---|---|---|---|---|---|")
    for m, e, h, v in rows:
        print(f"| {m} | {e:.2f} | {e / base:.2f} | {h:.3f} | {h / e:.1%} | {v:.2f} |")


if __name__ == "__main__":
    main()
