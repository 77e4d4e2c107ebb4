"""treatalloc fit DATA --method NAME --model-dir DIR: train a parameter provider."""

from __future__ import annotations

import argparse
import json
import sys

HELP = ("train a model that predicts every (unit, arm) outcome and cost from experiment data "
        "(TSM-SL, T-learner, any scikit-learn regressor, or decision-focused: DHCL, DFCL), "
        "early-stopped on validation EOM")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from learners.methods import METHODS
    from treatalloc.commands.experiment_args import add_data_flags

    p.add_argument("data", metavar="DATA", help="data.toml (or its folder), or a bare table "
                   "with the column flags below")
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--model-dir", required=True, metavar="DIR", help="folder to write the model")
    p.add_argument("--validation", metavar="DATA",
                   help="validation data (early stopping); default: 20%% of every arm of DATA "
                        "held out with the seed")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=100, help="at most this many (default 100)")
    p.add_argument("--patience", type=int, default=10,
                   help="stop after this many epochs without a better validation score")
    p.add_argument("--warmup", type=int, default=5,
                   help="epochs before a checkpoint may be selected (default 5)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="default N/100 clipped to 256..4096")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--hidden", metavar="W1,W2,...",
                   help="trunk widths (default 64,32,32, or 128,64,32 above 32 inputs)")
    p.add_argument("--per-capita", metavar="START:STOP:COUNT",
                   help="validation budgets per unit (default 10 from 10%% to 100%% of the "
                        "largest arm's mean incremental cost)")
    p.add_argument("--estimator", metavar="MODULE:CLASS",
                   help="--method sklearn: the regressor (default "
                        "sklearn.ensemble:HistGradientBoostingRegressor)")
    p.add_argument("--param", "-P", action="append", metavar="KEY=VALUE",
                   help="--method sklearn: an estimator parameter, repeatable")
    p.add_argument("--mode", choices=("per-arm", "arm-feature"), default="per-arm",
                   help="--method sklearn: one model per arm, or the arm as a feature")
    g = p.add_argument_group("decision-focused methods (dhcl, dfcl-*)")
    g.add_argument("--pl-weight", type=float, default=None, metavar="ALPHA",
                   help="weight of the prediction loss beside the decision loss (the papers' "
                        "alpha; default 1)")
    g.add_argument("--tau", type=float, default=None,
                   help="softmax temperature of dfcl-mer, dfcl-ppl, dfcl-pifd (default 0.1 "
                        "training standard deviations of the outcome)")
    g.add_argument("--lambdas", metavar="L1,L2,...",
                   help="dual methods (dfcl-pl, dfcl-mer, dfcl-ifd): the set of multipliers")
    g.add_argument("--budget", type=float, default=None, metavar="B",
                   help="primal methods (dfcl-ppl, dfcl-pifd): the per-capita incremental "
                        "budget they are trained for")
    g.add_argument("--init", metavar="MODEL_DIR",
                   help="warm-start from a fitted tsm-sl model (dfcl-* methods)")
    g.add_argument("--spend", choices=("ipw", "predicted"), default="ipw",
                   help="how λ* of --budget is found in training: IPW realised cost (default, "
                        "as the papers train) or the predicted cost")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--force", action="store_true", help="replace an existing model folder")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    add_data_flags(p)


def _hidden(text: str | None) -> tuple[int, ...] | None:
    from formulations.errors import UsageError

    if text is None:
        return None
    try:
        widths = tuple(int(x) for x in text.split(","))
    except ValueError:
        widths = ()
    if not widths or any(w < 1 for w in widths):
        raise UsageError(f"--hidden: expected comma-separated positive widths, got {text!r}")
    return widths


def _lambdas(text: str | None) -> tuple[float, ...] | None:
    from formulations.errors import UsageError

    if text is None:
        return None
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise UsageError(f"--lambdas: expected comma-separated numbers, got {text!r}") from None


def _decision(args: argparse.Namespace) -> object:
    from learners.decision_focused import DecisionSpec
    from learners.methods import DECISION_FOCUSED

    given = [args.pl_weight, args.tau, args.lambdas, args.budget, args.init]
    if args.method not in DECISION_FOCUSED and all(x is None for x in given):
        return None
    return DecisionSpec(pl_weight=1.0 if args.pl_weight is None else args.pl_weight,
                        tau=args.tau, lambdas=_lambdas(args.lambdas), budget=args.budget,
                        init=args.init, spend=args.spend)


def run(args: argparse.Namespace) -> int:
    from engine.progress import progress
    from learners.methods import FitSpec, fit
    from learners.saved import save_model
    from learners.training import TrainingOptions, check_device
    from treatalloc.commands.experiment_args import check_output_dir, load_data
    from treatalloc.console import parse_key_values
    from treatalloc.sweep_args import parse_per_capita

    check_output_dir(args.model_dir, "--model-dir", force=args.force)
    options = TrainingOptions(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        weight_decay=args.weight_decay, patience=args.patience, warmup=args.warmup,
        seed=args.seed,
        device=args.device,
    )
    check_device(args.device)
    grid = None if args.per_capita is None else parse_per_capita(args.per_capita, "--per-capita")
    spec = FitSpec(
        method=args.method, options=options, hidden=_hidden(args.hidden), budgets=grid,
        estimator=args.estimator, params=parse_key_values(args.param, "--param"),
        mode=args.mode, decision=_decision(args),  # type: ignore[arg-type]
    )
    data = load_data(args.data, args)
    validation = None
    if args.validation:
        from formulations.experiment_data import load_experiment

        validation = load_experiment(args.validation)
    show = not args.quiet and not args.json and sys.stderr.isatty()
    with progress(f"fit {args.method}", total=args.epochs, enabled=show) as bar:

        def on_epoch(row: object) -> None:
            r = dict(row)  # type: ignore[call-overload]
            bar.describe(f"fit {args.method}: epoch {int(r['epoch'])}, loss "
                         f"{r['train_loss']:.4g}, validation {r['val_score']:.6g}")
            bar.advance(1)

        provider = fit(data, spec, validation=validation, on_epoch=on_epoch)
    save_model(provider, args.model_dir, force=args.force)
    summary = {"method": args.method, "model_dir": args.model_dir, "arms": list(provider.arms),
               **provider.training}
    if args.json:
        print(json.dumps(summary))
        return 0
    t = provider.training
    print(f"method     {args.method}  ({', '.join(provider.arms)})")
    print(f"data       {t['data']}: {t['rows']:,} rows; validation {t.get('validation')}: "
          f"{t.get('validation_rows', 0):,} rows")
    if "best_epoch" in t:
        print(f"epochs     best {t['best_epoch']} of {t['epochs_run']} run "
              f"({t['samples_per_s']:,.0f} samples/s)")
    if "best_score" in t:
        what = ("mean validation EOM (per-capita value)" if t.get("score") == "eom"
                else "minus validation prediction loss (observational validation data)")
        print(f"score      {t['best_score']:.6g}  {what}")
    print(f"seconds    {t['seconds']:.2f}")
    print(f"model      {args.model_dir}/model.toml")
    return 0
