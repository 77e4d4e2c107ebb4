"""treatalloc evaluate DATA --model DIR [--model DIR2 ...]: EOM curves on randomised data."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

HELP = ("score fitted models on randomised data: EOM at matched spend per budget with bootstrap "
        "CIs, paired differences to the first model, AUCC and Qini (binary), prediction errors")

JSON_KEYS = """--json prints one object: data (name), units, arms, kind, form, n_boot, level,
budgets (per capita), models (list of {name, method, dir, and for binary data aucc,
qini_coefficient, uplift_coefficient, else null}),
rows (one per budget and model: budget, model, method, lam, value, uplift, spend, matched,
value_lo/hi, uplift_lo/hi, spend_lo/hi, normalised, diff, diff_lo/hi, share_below_zero, and
with --truth: true_uplift, true_spend, matched_true_uplift, oracle_uplift, capture,
deploy_true_uplift, deploy_true_spend), prediction_metrics ({model: rows per arm}), truth
(bool)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from treatalloc.commands.experiment_args import add_data_flags

    p.epilog = JSON_KEYS
    p.add_argument("data", metavar="DATA", help="randomised experiment data (data.toml, its "
                   "folder, or a bare table with the column flags)")
    p.add_argument("--model", action="append", required=True, metavar="DIR",
                   help="a model folder (repeatable; differences are to the first)")
    p.add_argument("--per-capita", metavar="START:STOP:COUNT",
                   help="per-capita incremental budgets (default 10 from 10%% to 100%% of the "
                        "largest arm's mean incremental cost)")
    p.add_argument("--form", choices=("ipw", "snipw"), default="ipw",
                   help="IPW (default, unbiased) or self-normalised IPW")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (0: none)")
    p.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    p.add_argument("--truth", metavar="FILE", help="the simulator's truth.parquet (or its "
                   "folder): true values beside the estimates")
    p.add_argument("--csv", metavar="FILE.csv", help="write the table (one row per budget and "
                   "model)")
    p.add_argument("--png", metavar="FILE.png", help="plot the EOM curves")
    p.add_argument("--trust", action="append", default=[], metavar="PREFIX",
                   help="scikit-learn models: also trust types under this module prefix")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_data_flags(p)


def _names(dirs: list[str]) -> list[str]:
    from pathlib import Path

    names = [Path(d).name or d for d in dirs]
    return names if len(set(names)) == len(names) else dirs


def run(args: argparse.Namespace) -> int:
    from formulations.errors import UsageError
    from learners.comparison import compare
    from learners.saved import load_model
    from treatalloc.commands.experiment_args import load_data
    from treatalloc.outputs import check_file
    from treatalloc.sweep_args import parse_per_capita

    if not isinstance(args.n_boot, int) or args.n_boot < 0:
        raise UsageError(f"--n-boot: expected an integer >= 0, got {args.n_boot}")
    if not 0 < args.level < 1:
        raise UsageError(f"--level: expected a number in (0, 1), got {args.level}")
    if args.csv:
        check_file(args.csv, "--csv", (".csv",))
    if args.png:
        check_file(args.png, "--png", (".png",))
    budgets = None if args.per_capita is None else parse_per_capita(args.per_capita, "--per-capita")
    data = load_data(args.data, args)
    names = _names(args.model)
    providers = {n: load_model(d, trusted=tuple(args.trust)) for n, d in zip(names, args.model,
                                                                             strict=True)}
    truth = None
    if args.truth:
        from learners.simulate import load_truth

        truth = load_truth(args.truth, data)
    result = compare(data, providers, budgets, form=args.form, n_boot=args.n_boot,
                     level=args.level, seed=args.seed, truth=truth)
    if args.csv:
        from formulations.atomic_write import atomic_write_frame

        atomic_write_frame(result.table, args.csv)
    if args.png:
        from evaluation.plots import plot_eom_curves

        plot_eom_curves(result.curves, args.png, what="uplift",
                        true_curves=result.true_curves or None,
                        title=f"{data.name}: uplift over all-control at matched spend")
    if args.json:
        print(json.dumps(_json(result, names, args), allow_nan=False))
        return 0
    _print(result, names, args)
    for path, what in ((args.csv, "table"), (args.png, "plot")):
        if path:
            print(f"wrote {what} {path}", file=sys.stderr)
    return 0


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if hasattr(x, "item"):
        return _clean(x.item())
    return x


def _records(frame: Any) -> list[dict[str, Any]]:
    return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _json(result: Any, names: list[str], args: argparse.Namespace) -> dict[str, Any]:
    d = result.data
    return {
        "data": d.name, "units": d.n_units, "arms": list(d.arms), "kind": d.kind,
        "form": result.form, "n_boot": result.n_boot, "level": result.level,
        "budgets": [float(b) for b in result.budgets],
        "models": [{"name": n, "method": result.table.loc[result.table.model == n, "method"]
                    .iloc[0], "dir": m,
                    "aucc": _clean(result.aucc[n].aucc) if n in result.aucc else None,
                    "qini_coefficient": _clean(result.qini[n][0].coefficient)
                    if n in result.qini else None,
                    "uplift_coefficient": _clean(result.qini[n][1].coefficient)
                    if n in result.qini else None}
                   for n, m in zip(names, args.model, strict=True)],
        "rows": _records(result.table),
        "prediction_metrics": {n: _records(f) for n, f in result.metrics.items()},
        "truth": bool(result.true_curves),
    }


def _ci(lo: Any, hi: Any) -> str:
    if lo is None or (isinstance(lo, float) and math.isnan(lo)):
        return ""
    return f"[{lo:.4g}, {hi:.4g}]"


def _print(result: Any, names: list[str], args: argparse.Namespace) -> None:
    d = result.data
    t = result.table
    boot = (f"{result.level:.0%} bootstrap CIs ({result.n_boot} resamples)" if result.n_boot
            else "no bootstrap")
    print(f"data     {d.name}: {d.n_units:,} units, arms {', '.join(d.arms)} ({d.kind})")
    print(f"metric   {result.form.upper()} EOM per capita at matched incremental spend; "
          f"{boot}")
    for n, m in zip(names, args.model, strict=True):
        method = t.loc[t.model == n, "method"].iloc[0]
        extra = ""
        if n in result.aucc:
            q, u = result.qini[n]
            extra = (f", AUCC {result.aucc[n].aucc:.4f}, Qini coefficient {q.coefficient:.4f}, "
                     f"uplift-curve coefficient {u.coefficient:.4f}")
        print(f"model    {n}: {method} ({m}){extra}")
    has_ci = "value_lo" in t.columns
    has_diff = "diff_lo" in t.columns
    truth = "capture" in t.columns
    several = len(names) > 1
    head = ["budget", "model", "EOM", "uplift", "spend"] + ([f"vs {names[0]}"] if several else [])
    if truth:
        head += ["true uplift", "capture", "deploy spend"]
    rows = []
    for r in _records(t):
        diff = ""
        if r["model"] != names[0] and r.get("diff") is not None:
            diff = f"{r['diff']:+.4g}" + (f" {_ci(r.get('diff_lo'), r.get('diff_hi'))}"
                                          if has_diff else "")
        line = [f"{r['budget']:.4g}", r["model"],
                f"{r['value']:.5g} {_ci(r.get('value_lo'), r.get('value_hi')) if has_ci else ''}",
                f"{r['uplift']:.4g}", f"{r['spend']:.4g}"] + ([diff] if several else [])
        if truth:
            line += [f"{r['true_uplift']:.4g}", f"{r['capture']:.3f}",
                     f"{r['deploy_true_spend']:.4g}"]
        rows.append(line)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    for line in [head, *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip())
    metrics = result.metrics
    print("prediction errors on the factual rows (RMSE of outcome / cost by arm):")
    for n, f in metrics.items():
        parts = [f"{r['arm']} {r['outcome_rmse']:.4g}/{r['cost_rmse']:.4g}"
                 for r in _records(f)]
        print(f"  {n}: " + "; ".join(parts))
