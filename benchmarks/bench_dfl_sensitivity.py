"""Sensitivity of the decision-focused methods to alpha, tau, the λ set and two design choices.

    .venv/bin/python benchmarks/bench_dfl_sensitivity.py [--setting scarce] [--seeds 3]
        [--csv benchmarks/results/dfl_sensitivity_scarce.csv]

For each seed: the simulator's splits; TSM-SL fitted with the first configuration of the tuning
grid (lr 1e-3, batch 256; epochs by early stopping on validation EOM) is the warm start of every
DFCL fit, and its λ* (IPW spend, train split) at 20% / 50% / 80% of the budget range makes the
λ sets. One knob varies at a time around the defaults (alpha 1, tau 0.1 outcome sd, the three-λ
set, the decision loss on the outcome heads only, clipped finite differences):

* alpha (``pl_weight``) in {0, 0.1, 1, 10}: dfcl-pl (dual), dfcl-ppl (primal);
* tau in {0.02, 0.1, 0.5, 2} outcome sd: dfcl-mer, dfcl-ppl;
* the λ set: {λ20}, {λ50}, {λ80}, {λ20, λ50, λ80}: dfcl-pl;
* ``cost_gradient`` (the decision loss also trains the cost heads, the papers' form): dfcl-ppl;
* ``clip`` None (Algorithm 3 as written): dfcl-pifd.

Scores on test (matched TRUE spend): dual methods the mean capture over the 10 budgets, primal
methods the capture at their budget (the middle one, 50%), plus the deployment protocol's true
spend over the budget for the primal ones. Mean ± sd over seeds.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def main() -> None:
    from learners.comparison import capture
    from learners.decision_focused import DecisionSpec
    from learners.methods import FitSpec, fit
    from learners.oracle import lambda_star
    from learners.saved import save_model
    from learners.simulate import simulate
    from learners.training import TrainingOptions
    from learners.tuning import MAX_EPOCHS, PATIENCE

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setting", default="scarce")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--csv", default=None)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    from evaluation.eom_curve import true_policy_value, true_value_at_budget

    rows: list[dict[str, Any]] = []
    for seed in range(args.seeds):
        sim = simulate(args.setting, n_obs=0, seed=seed)
        train, val, test, truth = (sim.data["train"], sim.data["validation"], sim.data["test"],
                                   sim.truth["test"])
        budgets = np.linspace(0.1, 1.0, 10) * float(truth.incremental()[1][:, -1].mean())
        oracle = true_value_at_budget(truth.value, truth.cost, truth.value, truth.cost, budgets)
        opts = TrainingOptions(epochs=MAX_EPOCHS, patience=PATIENCE, lr=1e-3, batch_size=256,
                               seed=seed)
        with tempfile.TemporaryDirectory() as tmp:
            tsm = fit(train, FitSpec("tsm-sl", opts), validation=val)
            init = str(Path(tmp) / "tsm")
            save_model(tsm, init)
            vp, cp = tsm.predict(train)
            lam = {k: float(lambda_star(vp, cp, float(budgets[i]), received=train.arm,
                                        cost=train.cost, propensity=train.propensity))
                   for k, i in (("20", 1), ("50", 4), ("80", 7))}
            three = (lam["20"], lam["50"], lam["80"])
            mid = float(budgets[4])
            dual = DecisionSpec(lambdas=three, init=init)
            primal = DecisionSpec(budget=mid, init=init)
            sd = tsm.outcome_scale
            cases: list[tuple[str, str, str, DecisionSpec]] = []
            for a in (0.0, 0.1, 1.0, 10.0):
                cases += [("alpha", f"{a:g}", "dfcl-pl", replace(dual, pl_weight=a)),
                          ("alpha", f"{a:g}", "dfcl-ppl", replace(primal, pl_weight=a))]
            for t in (0.02, 0.1, 0.5, 2.0):
                cases += [("tau", f"{t:g} sd", "dfcl-mer", replace(dual, tau=t * sd)),
                          ("tau", f"{t:g} sd", "dfcl-ppl", replace(primal, tau=t * sd))]
            for name, ls in (("{λ20}", (lam["20"],)), ("{λ50}", (lam["50"],)),
                             ("{λ80}", (lam["80"],)), ("{λ20, λ50, λ80}", three)):
                cases.append(("lambda set", name, "dfcl-pl", replace(dual, lambdas=ls)))
            cases += [("cost_gradient", "False (default)", "dfcl-ppl", primal),
                      ("cost_gradient", "True (papers)", "dfcl-ppl",
                       replace(primal, cost_gradient=True)),
                      ("clip", "fix (default)", "dfcl-pifd", primal),
                      ("clip", "none (Algorithm 3)", "dfcl-pifd", replace(primal, clip=None))]
            base = true_value_at_budget(*tsm.predict(test), truth.value, truth.cost, budgets)
            rows.append({"seed": seed, "knob": "baseline", "value": "tsm-sl",
                         "method": "tsm-sl", "capture": float(np.mean(capture(base, oracle))),
                         "capture_mid": float(capture(base, oracle)[4])})
            for knob, value, method, spec in cases:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    p = fit(train, FitSpec(method, opts, decision=spec), validation=val)
                curve = true_value_at_budget(*p.predict(test), truth.value, truth.cost, budgets)
                cap = capture(curve, oracle)
                row = {"seed": seed, "knob": knob, "value": value, "method": method,
                       "capture": float(np.mean(cap)), "capture_mid": float(cap[4])}
                if method in ("dfcl-ppl", "dfcl-pifd"):
                    chosen = p.policy(test, mid, per_capita=True)
                    row["deploy_spend_ratio"] = true_policy_value(
                        chosen, truth.value, truth.cost).spend / mid
                rows.append(row)
                print(f"seed {seed} {knob}={value} {method}: capture {row['capture']:.4f} "
                      f"(at 50%: {row['capture_mid']:.4f})", flush=True)
        table = pd.DataFrame(rows)
        csv = Path(args.csv or f"benchmarks/results/dfl_sensitivity_{args.setting}.csv")
        csv.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(csv, index=False)
    report(pd.DataFrame(rows))


def report(table: pd.DataFrame) -> None:
    primal = table.method.isin(["dfcl-ppl", "dfcl-pifd"])
    table = table.assign(score=np.where(primal, table.capture_mid, table.capture))
    if "deploy_spend_ratio" not in table:
        table["deploy_spend_ratio"] = np.nan
    g = (table.groupby(["knob", "method", "value"], sort=False)
         .agg(mean=("score", "mean"), sd=("score", "std"), spend=("deploy_spend_ratio", "mean"))
         .reset_index())
    print("\n| knob | method | value | capture (mean ± sd over seeds) | deployed spend / budget |")
    print("|---|---|---|---|---|")
    for r in g.itertuples():
        spend = "-" if np.isnan(r.spend) else f"{r.spend:.2f}"
        print(f"| {r.knob} | {r.method} | {r.value} | {r.mean:.4f} ± {r.sd:.4f} | {spend} |")
    print("(dual methods: mean capture over the 10 budgets; primal: capture at their budget)")


if __name__ == "__main__":
    main()
