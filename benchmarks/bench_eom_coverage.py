"""Coverage of the IPW EOM confidence interval against the simulator's true policy value.

    .venv/bin/python benchmarks/bench_eom_coverage.py [--draws 200] [--users 20000]
        [--setting plentiful] [--n-boot 500] [--budgets 0.2,0.5,0.8]

One TSM-SL model is fitted once (seed 0 of the setting). Then, for each of ``--draws`` fresh RCT
draws of ``--users`` test users (seeds 1000, 1001, ...), the model's EOM curve is estimated at
the budgets (fractions of the true all-max spend per capita), with a 95% percentile bootstrap
interval (``--n-boot`` resamples, the policy held fixed). The truth of the same policy (the
same λ on the same λ path) is

* ``population``: its true per-capita value on a separate population of 1,000,000 users (the
  estimand of the interval: the bootstrap resamples users), and
* ``sample``: its true per-capita value on the draw's own users (the finite-population value).

Coverage is the share of draws whose interval holds the truth; the issue's band is 0.93-0.97.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    from evaluation.eom_curve import eom_curve
    from evaluation.lambda_path import lambda_path
    from learners.methods import FitSpec, fit
    from learners.simulate import SETTINGS, _world, simulate
    from learners.training import TrainingOptions

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--users", type=int, default=20_000)
    ap.add_argument("--setting", default="plentiful")
    ap.add_argument("--n-boot", type=int, default=500)
    ap.add_argument("--budgets", default="0.2,0.5,0.8")
    ap.add_argument("--forms", default="ipw,snipw")
    args = ap.parse_args()
    fractions = np.array([float(x) for x in args.budgets.split(",")])
    start = time.perf_counter()
    base = simulate(args.setting, n_users=40_000, n_obs=0, seed=0)
    model = fit(base.data["train"], FitSpec("tsm-sl", TrainingOptions(epochs=60, patience=8,
                                                                        seed=0)),
                validation=base.data["validation"])
    pop = _world(1_000_000, SETTINGS[args.setting], np.random.default_rng(123))
    from formulations.experiment_data import FeatureTable

    pop_table = FeatureTable("population", np.arange(1_000_000), pop.features)
    pv, pc = model.predict(pop_table)
    pop_path = lambda_path(pv, pc)
    max_spend = float((pop.cost[:, -1] - pop.cost[:, 0]).mean())
    budgets = fractions * max_spend
    forms = args.forms.split(",")
    hits = {f: {"population": np.zeros(budgets.size), "sample": np.zeros(budgets.size)}
            for f in forms}
    widths = {f: np.zeros(budgets.size) for f in forms}
    for d in range(args.draws):
        sim = simulate(args.setting, n_users=args.users, n_obs=0, seed=1000 + d)
        # all of the draw's users are test users here: merge the three splits
        parts = [sim.data[s] for s in ("train", "validation", "test")]
        truths = [sim.truth[s] for s in ("train", "validation", "test")]
        from formulations.experiment_data import experiment_from_frame

        frames = []
        for p in parts:
            f = p.features.copy()
            f["arm"] = np.asarray(p.arms, dtype=object)[p.arm]
            f["y"], f["c"], f["p"] = p.outcome, p.cost, p.propensity
            frames.append(f)
        import pandas as pd

        data = experiment_from_frame(pd.concat(frames, ignore_index=True), treatment="arm",
                                     outcome="y", cost="c", propensity="p",
                                     control=parts[0].arms[0], arms=parts[0].arms,
                                     features=list(parts[0].features.columns))
        tv = np.concatenate([t.value for t in truths])
        vp, cp = model.predict(data)
        path = lambda_path(vp, cp)
        for f in forms:
            curve = eom_curve(data.arm, data.outcome, data.cost, vp, cp, budgets,
                              propensity=data.propensity, form=f, n_boot=args.n_boot,  # type: ignore[arg-type]
                              seed=d, path=path)
            assert curve.value_ci is not None
            lo, hi = curve.value_ci[:, 0], curve.value_ci[:, 1]
            rows = np.arange(data.n_units)
            sample_truth = np.array([tv[rows, ch].mean() for ch in curve.chosen])
            pop_truth = np.array([
                pop.value[np.arange(pop.value.shape[0]), pop_path.chosen_at(float(lam))].mean()
                for lam in curve.lam])
            hits[f]["sample"] += (lo <= sample_truth) & (sample_truth <= hi)
            hits[f]["population"] += (lo <= pop_truth) & (pop_truth <= hi)
            widths[f] += hi - lo
        if (d + 1) % 20 == 0:
            print(f"{d + 1} draws, {time.perf_counter() - start:.0f} s", flush=True)
    print(f"\nsetting {args.setting}, {args.users:,} users per draw, {args.draws} draws, "
          f"{args.n_boot} bootstrap resamples, 95% intervals")
    print("| form | budget (share of all-max spend) | coverage (population value) | "
          "coverage (sample value) | mean CI width |")
    print("|---|---|---|---|---|")
    for f in forms:
        for k, fr in enumerate(fractions):
            print(f"| {f} | {fr:.0%} | {hits[f]['population'][k] / args.draws:.3f} | "
                  f"{hits[f]['sample'][k] / args.draws:.3f} | "
                  f"{widths[f][k] / args.draws:.4f} |")


if __name__ == "__main__":
    main()
