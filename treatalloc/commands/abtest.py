"""treatalloc abtest DATA.csv: the effect of each variant on a metric, by several estimators."""

from __future__ import annotations

import argparse
import sys
from typing import Any

HELP = ("analyse an A/B test: difference in means, CUPED, Lin, CUPAC, MLRATE, STATE side by side "
        "(per-unit or ratio metrics)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="one row per unit: a .csv (or .csv.gz / .parquet) file")
    p.add_argument("--metric", help="the outcome column (with --ratio: only a display name)")
    p.add_argument("--ratio", metavar="NUM/DEN",
                   help="a ratio metric sum(NUM)/sum(DEN) per arm, e.g. orders/sessions")
    p.add_argument("--treatment", required=True, help="the column holding each unit's arm")
    p.add_argument("--control", metavar="LABEL",
                   help="the control arm's label (needed unless the arms are 0/1)")
    p.add_argument("--covariates", nargs="*", default=[], metavar="COL",
                   help="pre-period columns unaffected by treatment (text columns are one-hot "
                        "encoded)")
    p.add_argument("--method", default="all",
                   help="all, or a comma list of dim,cuped,lin,cupac,mlrate,state")
    p.add_argument("--predictor", default="gbm", choices=("gbm", "ridge"),
                   help="the cross-fitted ML model for CUPAC/MLRATE/STATE (default gbm)")
    p.add_argument("--folds", type=int, default=2, help="cross-fitting folds (default 2)")
    p.add_argument("--alpha", type=float, default=0.05, help="two-sided level (default 0.05)")
    p.add_argument("--no-guard", action="store_true",
                   help="run STATE even where the guard finds it biased (for diagnosis only)")
    p.add_argument("--csv", metavar="OUT.csv", help="write the results table here")
    p.add_argument("--png", metavar="OUT.png", help="plot the effect intervals here")
    p.add_argument("--seed", type=int, default=0, help="seed of the cross-fitting folds")


def run(args: argparse.Namespace) -> int:
    import warnings

    import pandas as pd

    from evaluation.abtest import analyze_arms, parse_methods
    from evaluation.abtest.state import StateGuardWarning
    from formulations.errors import UsageError
    from treatalloc.console import write_table

    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha: expected a number in (0, 1), got {args.alpha}")
    from formulations.atomic_write import TABLE_SUFFIXES
    from treatalloc.outputs import check_file

    # before any work: the outputs can be written, in the format their names say
    if args.csv:
        check_file(args.csv, "--csv", TABLE_SUFFIXES)
    if args.png:
        check_file(args.png, "--png", (".png",))
    methods = parse_methods(args.method)
    if not args.covariates and args.method.strip() == "all":
        methods = ("dim",)
        print("treatalloc abtest: no --covariates: only difference in means can run",
              file=sys.stderr)
    frame = _read(args.data)
    num, den = _metric_columns(args, frame)
    label = args.metric or f"{num}/{den}"
    for col, what in ((num, "--metric" if den is None else "--ratio numerator"),
                      (den, "--ratio denominator"), (args.treatment, "--treatment")):
        if col is not None and col not in frame.columns:
            raise UsageError(f"{args.data}: {what} column {col!r} not found; columns are "
                             f"{', '.join(map(str, frame.columns))}")
    missing = [c for c in args.covariates if c not in frame.columns]
    if missing:
        raise UsageError(f"{args.data}: covariate column(s) {', '.join(missing)} not found; "
                         f"columns are {', '.join(map(str, frame.columns))}")
    y = _numeric(frame, num, args.data)
    denominator = None if den is None else _numeric(frame, den, args.data)
    arms = frame[args.treatment]
    if arms.isna().any():
        raise UsageError(f"{args.data}: --treatment column {args.treatment!r} has "
                         f"{int(arms.isna().sum())} empty rows")
    arm_labels = arms.astype(str).str.strip().to_numpy()
    x = _covariates(frame, args.covariates, args.data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StateGuardWarning)
        results = analyze_arms(
            y, arm_labels, None if args.control is None else args.control.strip(), x,
            denominator=denominator, methods=methods, predictor=args.predictor,
            folds=args.folds, seed=args.seed, alpha=args.alpha, guard=not args.no_guard)
    for w in caught:
        print(f"treatalloc abtest: warning: {w.message}", file=sys.stderr)

    table = pd.DataFrame([r.to_dict() for r in results])
    table.insert(0, "metric", label)
    _print_table(table, label, frame.shape[0], args.alpha)
    if args.csv:
        write_table(table, args.csv)
        print(f"wrote {args.csv}", file=sys.stderr)
    if args.png:
        _plot(table, label, args.alpha, args.png)
        print(f"wrote {args.png}", file=sys.stderr)
    return 0


def _read(path: str) -> Any:
    from pathlib import Path

    import pandas as pd

    from formulations.errors import UsageError

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(p)
        return pd.read_csv(p)
    except (ValueError, OSError) as e:
        raise UsageError(f"{path}: cannot read it as a table: {e}") from e


def _metric_columns(args: argparse.Namespace, frame: Any) -> tuple[str, str | None]:
    from formulations.errors import UsageError

    if args.ratio:
        num, sep, den = args.ratio.partition("/")
        if not sep or not num or not den:
            raise UsageError(f"--ratio: expected NUM/DEN (two column names), got {args.ratio!r}")
        return num.strip(), den.strip()
    if not args.metric:
        raise UsageError("--metric COL (or --ratio NUM/DEN) is required")
    return args.metric, None


def _numeric(frame: Any, col: str, source: str) -> Any:
    import pandas as pd

    from formulations.errors import UsageError

    values = pd.to_numeric(frame[col], errors="coerce")
    bad = values.isna()
    if bad.any():
        first = int(bad.to_numpy().argmax())
        raise UsageError(f"{source}: column {col!r} has {int(bad.sum())} missing or non-numeric "
                         f"values (first at data row {first + 1}: {frame[col].iloc[first]!r}); "
                         "expected a number in every row")
    return values.to_numpy(dtype=float)


def _covariates(frame: Any, cols: list[str], source: str) -> Any:
    import pandas as pd

    from formulations.errors import UsageError

    if not cols:
        return None
    sub = frame[cols]
    empty = sub.isna().any()
    if empty.any():
        bad = [c for c in cols if empty[c]]
        raise UsageError(f"{source}: covariate column(s) {', '.join(bad)} have missing values")
    constant = [c for c in cols if sub[c].nunique() < 2]
    if constant:
        raise UsageError(f"{source}: covariate column(s) {', '.join(constant)} are constant; "
                         "drop them")
    text = [c for c in cols if not pd.api.types.is_numeric_dtype(sub[c])]
    if text:
        sub = pd.get_dummies(sub, columns=text, drop_first=True, dtype=float)
    return sub.to_numpy(dtype=float)


def _print_table(table: Any, label: str, rows: int, alpha: float) -> None:
    level = f"{1 - alpha:.0%}"
    multi = table["p_holm"].notna().any()
    print(f"metric {label}; {rows} units; effect = variant - control; {level} intervals")
    head = (f"{'control':<12} {'variant':<14} {'method':<7} {'effect':>11} {'se':>10} "
            f"{'ci_low':>11} {'ci_high':>11} {'p':>9} " + (f"{'p_holm':>9} " if multi else "")
            + f"{'VR':>7}  notes")
    print(head)
    for r in table.itertuples(index=False):
        line = (f"{str(r.control)[:12]:<12} {str(r.variant)[:14]:<14} {r.method:<7} "
                f"{r.effect:>11.5g} {r.se:>10.4g} {r.ci_low:>11.5g} {r.ci_high:>11.5g} "
                f"{r.p_value:>9.3g} ")
        if multi:
            line += f"{r.p_holm:>9.3g} "
        line += f"{r.variance_reduction:>7.1%}  {r.notes}"
        print(line.rstrip())


def _plot(table: Any, label: str, alpha: float, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from formulations.atomic_write import atomic_write_with

    rows = list(table.itertuples(index=False))
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.4))
    ys = list(range(len(rows)))[::-1]
    for yy, r in zip(ys, rows, strict=True):
        color = "tab:orange" if r.notes and "fell back" in r.notes else "tab:blue"
        ax.errorbar(r.effect, yy, xerr=[[r.effect - r.ci_low], [r.ci_high - r.effect]], fmt="o",
                    color=color, capsize=3)
    ax.axvline(0.0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(ys)
    ax.set_yticklabels([f"{r.variant} · {r.method}" for r in rows])
    ax.set_xlabel(f"effect on {label} (variant - control), {1 - alpha:.0%} intervals")
    ax.set_title("treatalloc abtest (orange: STATE fell back to MLRATE)", fontsize=9)
    fig.tight_layout()
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
