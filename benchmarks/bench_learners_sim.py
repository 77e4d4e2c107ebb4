"""Learners on the simulator: true policy value against the oracle, over seeds, with tuning.

    .venv/bin/python benchmarks/bench_learners_sim.py --setting scarce [--seeds 5]
        [--methods tsm-sl,t-learner,sklearn,dhcl,dfcl-pl,dfcl-mer,dfcl-ifd,dfcl-ppl,dfcl-pifd]
        [--users N] [--csv FILE]

For every seed: ``learners.simulate.simulate(setting, seed=seed)`` gives train / validation /
test and the truth. The budgets are 10 per-capita levels, 10%..100% of the true all-max spend
per capita. Every method gets the SAME tuning budget (learners/tuning.py: 4 configurations of
learning rate x batch size, or of boosting learning rate x rounds, epochs by early stopping on
validation EOM); the configuration with the best validation score is kept. The test split is
used once, for the chosen model:

* matched TRUE spend (evaluation.eom_curve.true_value_at_budget): per budget, the policy of the
  model's λ path whose true incremental spend meets the budget, and its true uplift over
  all-control; the oracle is the same protocol with the true (value, cost) as predictions;
  ``capture`` = model uplift / oracle uplift (learners.comparison.capture: 0 where no policy on
  the model's path fits the budget in truth);
* the deployment protocol: the engine's ``dual`` allocation at the nominal budget from the
  predicted costs (``provider.policy``), with its true uplift and true spend.

Decision-focused methods (docs/losses.md, learners/decision_focused.py), per seed:

* the dual ones (dfcl-pl, dfcl-mer, dfcl-ifd) fine-tune the seed's tuned TSM-SL (``--init``, as
  the papers fine-tune a pre-trained two-stage model) with the λ set = TSM-SL's λ* (IPW spend, on
  the TRAIN split) at 20%, 50% and 80% of the budget range, and are scored at every budget;
* the primal ones (dfcl-ppl, dfcl-pifd) are trained for one budget: tuned at the middle budget
  (50%), then refitted with that configuration at each of the 10 budgets, each scored at its own;
* dhcl trains its own network from scratch.

"Best decision-focused" is, per seed, the decision-focused method with the best validation
score (the mean validation EOM over the budgets; for the primal methods the mean of each
budget's model's validation EOM at that budget): chosen on validation, not on test. Its gain over
TSM-SL is the mean over budgets of (uplift - TSM-SL's uplift) divided by TSM-SL's mean uplift,
with a 95% t-interval over seeds (paired: the same seed's data for both).

Output: one row per (seed, method, budget) in the CSV, and summary tables.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DECISION = ("dhcl", "dfcl-pl", "dfcl-mer", "dfcl-ifd", "dfcl-ppl", "dfcl-pifd")


def evaluate(provider: Any, test: Any, truth: Any, budgets: np.ndarray) -> pd.DataFrame:
    from evaluation.eom_curve import true_policy_value, true_value_at_budget
    from learners.comparison import capture
    from learners.provider import BudgetWarning

    tv, tc = truth.value, truth.cost
    vp, cp = provider.predict(test)
    model = true_value_at_budget(vp, cp, tv, tc, budgets)
    oracle = true_value_at_budget(tv, tc, tv, tc, budgets)
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


def run_seed(setting: str, seed: int, users: int | None, methods: list[str]) -> pd.DataFrame:
    from learners.simulate import simulate
    from learners.tuning import fit_methods

    sim = simulate(setting, n_users=users, n_obs=0, seed=seed)
    train, val, test, truth = (sim.data["train"], sim.data["validation"], sim.data["test"],
                               sim.truth["test"])
    budgets = np.linspace(0.1, 1.0, 10) * float(truth.incremental()[1][:, -1].mean())
    frames = []
    start = [time.perf_counter()]

    def on_fit(method: str, fitted: Any, cfg: Any, val_score: float) -> None:
        if isinstance(fitted, list):  # a primal method: one model per budget, scored at its own
            f = pd.concat([evaluate(p, test, truth, budgets).iloc[[k]]
                           for k, p in enumerate(fitted)], ignore_index=True)
        else:
            f = evaluate(fitted, test, truth, budgets)
        seconds = time.perf_counter() - start[0]
        f.insert(0, "method", method)
        f.insert(0, "seed", seed)
        f["config"] = str(cfg)
        f["val_score"] = val_score
        f["seconds"] = seconds
        frames.append(f)
        print(f"seed {seed} {method}: capture {f.capture.mean():.4f} deploy "
              f"{f.deploy_capture.mean():.4f} val {val_score:.5g} ({cfg}, {seconds:.0f} s)",
              flush=True)
        start[0] = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        fitted = fit_methods(methods, train, val, budgets, seed=seed, workdir=tmp, on_fit=on_fit)
    out = pd.concat(frames, ignore_index=True)
    out["lambdas"] = str(tuple(round(x, 6) for x in fitted["_lambdas"]))
    for m, why in fitted["_skipped"].items():
        print(f"seed {seed} {m}: not applicable: {why}", flush=True)
    return out


def _t_interval(x: pd.Series) -> str:
    from scipy import stats

    x = x.dropna()
    if len(x) < 2:
        return f"{x.mean():+.4f}"
    h = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return f"{x.mean():+.4f} [{x.mean() - h:+.4f}, {x.mean() + h:+.4f}]"


def summary(rows: pd.DataFrame) -> str:
    per = rows.groupby(["method", "seed"]).agg(
        capture=("capture", "mean"), deploy=("deploy_capture", "mean"),
        uplift=("uplift", "mean"), val=("val_score", "first")).reset_index()
    lines = ["| method | capture (mean ± sd over seeds) | deployment capture | capture vs tsm-sl "
             "(paired 95% CI) |", "|---|---|---|---|"]
    base = per[per.method == "tsm-sl"].set_index("seed")
    for m, g in per.groupby("method", sort=False):
        g = g.set_index("seed")
        cell = "-" if m == "tsm-sl" or base.empty else _t_interval(g["capture"] - base["capture"])
        lines.append(f"| {m} | {g.capture.mean():.4f} ± {g.capture.std(ddof=1):.4f} | "
                     f"{g.deploy.mean():.4f} ± {g.deploy.std(ddof=1):.4f} | {cell} |")
    # the budgets are shares of each seed's true all-max spend: group them by their level
    level = rows.groupby(["seed", "method"])["budget"].rank(method="first").astype(int) * 10
    by_budget = (rows.assign(level=level).groupby(["method", "level"])["capture"]
                 .agg(["mean", "std"]).reset_index())
    methods = list(dict.fromkeys(rows.method))
    levels = sorted(by_budget.level.unique())
    lines += ["", "capture per budget level, % of the all-max spend (mean ± sd over seeds):",
              "| method | " + " | ".join(f"{lv}%" for lv in levels) + " |",
              "|---|" + "---|" * len(levels)]
    for m in methods:
        g = by_budget[by_budget.method == m].set_index("level")
        lines.append(f"| {m} | " + " | ".join(
            f"{g.loc[lv, 'mean']:.3f} ± {g.loc[lv, 'std']:.3f}" for lv in levels) + " |")
    dfl = per[per.method.isin(DECISION)]
    if not dfl.empty and not base.empty:
        best = dfl.loc[dfl.groupby("seed")["val"].idxmax()].set_index("seed")
        gain = (best["uplift"] - base["uplift"]) / base["uplift"]
        lines += ["", "best decision-focused method per seed (chosen on validation): "
                  + ", ".join(f"seed {s}: {m}" for s, m in best["method"].items()),
                  f"its gain in true uplift over TSM-SL, as a share of TSM-SL's uplift: "
                  f"{_t_interval(gain)} (mean [95% t-interval over {len(gain)} seeds])"]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setting", default="plentiful")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--methods", default="tsm-sl,t-learner,sklearn")
    ap.add_argument("--users", type=int, default=None)
    ap.add_argument("--csv", default=None)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch and OpenMP threads (default 1: the results do not depend on it)")
    ap.add_argument("--summary-only", action="store_true",
                    help="print the summary of an existing --csv without running")
    args = ap.parse_args()
    csv = Path(args.csv or f"benchmarks/results/learners_sim_{args.setting}.csv")
    if args.summary_only:
        print(summary(pd.read_csv(csv)))
        return
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    methods = args.methods.split(",")
    frames = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        frames.append(run_seed(args.setting, seed, args.users, methods))
        out = pd.concat(frames, ignore_index=True)
        csv.parent.mkdir(parents=True, exist_ok=True)
        out.to_csv(csv, index=False)
    print(f"\nsetting {args.setting}, users {args.users or 'default'}, seeds "
          f"{args.first_seed}..{args.first_seed + args.seeds - 1}")
    print(summary(pd.concat(frames, ignore_index=True)))


if __name__ == "__main__":
    main()
