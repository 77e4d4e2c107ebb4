"""Learners on the simulator: true policy value against the oracle, over seeds, with tuning.

    .venv/bin/python benchmarks/bench_learners_sim.py --setting plentiful [--seeds 5]
        [--methods tsm-sl,t-learner,sklearn] [--users N] [--csv FILE]

For every seed: ``learners.simulate.simulate(setting, seed=seed)`` gives train / validation /
test and the truth. Every method gets the SAME tuning budget: a grid of 4 configurations (below),
each fitted on train and early-stopped on validation EOM (the mean over 10 validation budgets,
IPW, learners/validation.py); the configuration with the best validation score is kept. The test
split is used once, for the chosen model:

* matched TRUE spend (evaluation.eom_curve.true_value_at_budget): per budget, the policy of the
  model's λ path whose true incremental spend meets the budget, and its true uplift over
  all-control; the oracle is the same protocol with the true (value, cost) as predictions;
  ``capture`` = model uplift / oracle uplift, averaged over the 10 budgets (10%..100% of the true
  all-max spend per capita); where no policy on the model's path fits a budget in truth the
  capture there is 0 (learners.comparison.capture);
* the deployment protocol: the engine's ``dual`` allocation at the nominal budget from the
  predicted costs (``provider.policy``), with its true uplift and true spend.

The grids are those of learners/tuning.py (the same size for every method; epochs by early
stopping).

Output: one row per (seed, method, budget) in the CSV, and a summary table (mean and sd over
seeds of the capture, and the paired difference to TSM-SL with a 95% t-interval over seeds).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def evaluate(provider: Any, test: Any, truth: Any, budgets: np.ndarray) -> pd.DataFrame:
    from evaluation.eom_curve import true_policy_value, true_value_at_budget
    from learners.comparison import capture

    tv, tc = truth.value, truth.cost
    vp, cp = provider.predict(test)
    model = true_value_at_budget(vp, cp, tv, tc, budgets)
    oracle = true_value_at_budget(tv, tc, tv, tc, budgets)
    import warnings

    from learners.provider import BudgetWarning

    deploy_uplift, deploy_spend = [], []
    for b in budgets:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BudgetWarning)  # the top budget may not bind
            chosen = provider.policy(test, float(b), per_capita=True)
        t = true_policy_value(chosen, tv, tc)
        deploy_uplift.append(t.uplift)
        deploy_spend.append(t.spend)
    return pd.DataFrame({
        "budget": budgets, "uplift": model.uplift, "spend": model.spend,
        "oracle_uplift": oracle.uplift, "fits": model.fits, "capture": capture(model, oracle),
        "deploy_uplift": deploy_uplift, "deploy_spend": deploy_spend,
        "deploy_capture": np.asarray(deploy_uplift) / oracle.uplift,
    })


def summary(rows: pd.DataFrame) -> str:
    from scipy import stats

    per = rows.groupby(["method", "seed"])[["capture", "deploy_capture"]].mean().reset_index()
    lines = ["| method | capture (mean ± sd over seeds) | deployment capture | vs tsm-sl "
             "(paired 95% CI) |", "|---|---|---|---|"]
    base = per[per.method == "tsm-sl"].set_index("seed")["capture"]
    for m, g in per.groupby("method", sort=False):
        c, d = g["capture"], g["deploy_capture"]
        cell = "-"
        if m != "tsm-sl" and not base.empty:
            diff = g.set_index("seed")["capture"] - base
            diff = diff.dropna()
            if len(diff) > 1:
                h = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))
                cell = f"{diff.mean():+.4f} [{diff.mean() - h:+.4f}, {diff.mean() + h:+.4f}]"
        lines.append(f"| {m} | {c.mean():.4f} ± {c.std(ddof=1):.4f} | {d.mean():.4f} ± "
                     f"{d.std(ddof=1):.4f} | {cell} |")
    return "\n".join(lines)


def main() -> None:
    from learners.simulate import simulate
    from learners.tuning import tune

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setting", default="plentiful")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--methods", default="tsm-sl,t-learner,sklearn")
    ap.add_argument("--users", type=int, default=None)
    ap.add_argument("--csv", default=None)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch and OpenMP threads (default 1: the results do not depend on it)")
    args = ap.parse_args()
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    methods = args.methods.split(",")
    csv = Path(args.csv or f"benchmarks/results/learners_sim_{args.setting}.csv")
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        sim = simulate(args.setting, n_users=args.users, n_obs=0, seed=seed)
        test, truth = sim.data["test"], sim.truth["test"]
        budgets = np.linspace(0.1, 1.0, 10) * float(truth.incremental()[1][:, -1].mean())
        for m in methods:
            t = time.perf_counter()
            provider, cfg, _ = tune(m, sim.data["train"], sim.data["validation"], seed=seed)
            frame = evaluate(provider, test, truth, budgets)
            frame.insert(0, "method", m)
            frame.insert(0, "seed", seed)
            frame["config"] = str(cfg)
            frame["seconds"] = time.perf_counter() - t
            rows.append(frame)
            print(f"seed {seed} {m}: capture {frame.capture.mean():.4f} deploy "
                  f"{frame.deploy_capture.mean():.4f} ({cfg}, {frame.seconds.iloc[0]:.0f} s)",
                  flush=True)
        out = pd.concat(rows, ignore_index=True)
        csv.parent.mkdir(parents=True, exist_ok=True)
        out.to_csv(csv, index=False)
    print(f"\nsetting {args.setting}, seeds {args.first_seed}..{args.first_seed + args.seeds - 1}")
    print(summary(pd.concat(rows, ignore_index=True)))


if __name__ == "__main__":
    main()
