"""How well does the validation score track the true value, epoch by epoch?

    .venv/bin/python benchmarks/bench_validation_signal.py --setting scarce [--users N]
        [--epochs 40] [--seed 11]

One TSM-SL fit (lr 1e-3, batch 256, no early stopping) on a simulated campaign; after every
epoch: the validation EOM (IPW, and self-normalised), minus the validation prediction loss, and
the TRUE capture of the test split (matched true spend, mean over 10 budgets). Prints the
correlation of each validation score with the true capture across epochs, and the true capture
of the epoch each score would select. A diagnostic of model selection, not of the model.
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    from evaluation.eom_curve import eom_curve, true_value_at_budget
    from learners.losses.prediction import PredictionLoss
    from learners.simulate import simulate
    from learners.tensors import experiment_tensors
    from learners.training import TrainingOptions
    from learners.two_stage import build_provider, run_training
    from learners.validation import make_validation

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setting", default="scarce")
    ap.add_argument("--users", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    sim = simulate(args.setting, n_users=args.users, n_obs=0, seed=args.seed)
    tr, va, te, truth = (sim.data["train"], sim.data["validation"], sim.data["test"],
                         sim.truth["test"])
    budgets = np.linspace(0.1, 1, 10) * truth.incremental()[1][:, -1].mean()
    oracle = true_value_at_budget(truth.value, truth.cost, truth.value, truth.cost, budgets)
    p = build_provider("tsm-sl", tr, hidden=None, seed=7)
    val = make_validation(va)
    rows = []

    def on_epoch(row: object) -> None:
        r = dict(row)  # type: ignore[call-overload]
        vp, cp = p.predict(va)
        sn = eom_curve(va.arm, va.outcome, va.cost, vp, cp, val.budgets,
                       propensity=va.propensity, form="snipw")
        c = true_value_at_budget(*p.predict(te), truth.value, truth.cost, budgets)
        rows.append((r["val_eom"], float(np.mean(sn.value)), -r["val_loss"],
                     float(np.mean(c.uplift / oracle.uplift))))

    opts = TrainingOptions(epochs=args.epochs, patience=args.epochs, warmup=0, batch_size=256,
                           seed=7)
    run_training(p, PredictionLoss(p.outcome_scale, p.cost_scale),
                 experiment_tensors(tr, p.schema), experiment_tensors(va, p.schema), val, opts,
                 on_epoch=on_epoch)
    a = np.array(rows)
    print(f"setting {args.setting}, {tr.n_units:,} training / {va.n_units:,} validation users, "
          f"{args.epochs} epochs")
    print("| validation score | correlation with true capture | true capture of its epoch |")
    print("|---|---|---|")
    for k, name in enumerate(["EOM (IPW)", "EOM (self-normalised)", "- prediction loss"]):
        corr = np.corrcoef(a[:, k], a[:, 3])[0, 1]
        print(f"| {name} | {corr:.3f} | {a[int(np.argmax(a[:, k])), 3]:.4f} |")
    print(f"best epoch's true capture {a[:, 3].max():.4f}; last epoch's {a[-1, 3]:.4f}")


if __name__ == "__main__":
    main()
