"""Learners on real RCTs: EOM curves with 95% CIs and paired differences to TSM-SL.

    .venv/bin/python benchmarks/bench_learners_rct.py --data-root ../shared/data
        [--datasets hillstrom,social_pressure,thornton_hiv_incentives] [--seeds 3]
        [--methods tsm-sl,t-learner,sklearn] [--n-boot 1000] [--out benchmarks/results]

For every dataset and seed: ``learners.datasets.prepare`` writes the split of that seed
(60 / 20 / 20, stratified by arm); every method is tuned on validation with the grids of
learners/tuning.py (the same size for every method); the chosen model is scored once on test
(learners.comparison.compare): the IPW EOM at 10 per-capita budgets (10%..100% of the test
split's largest arm-mean incremental cost) with 95% percentile bootstrap intervals, and the
paired bootstrap difference to TSM-SL (same resampled units for both).

Outputs: ``<out>/learners_rct_<dataset>.csv`` (every seed, model and budget) and
``<out>/learners_rct_<dataset>.png`` (seed 0's curves), and a summary per dataset: the mean over
budgets of each model's uplift (mean and sd over seeds), and per budget of seed 0 whether the
paired 95% interval of the difference to TSM-SL excludes 0.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd


def run_dataset(name: str, root: str, seeds: int, methods: list[str], n_boot: int,
                out: Path) -> pd.DataFrame:
    from evaluation.experiment import default_budgets
    from formulations.experiment_data import load_experiment
    from learners.comparison import compare
    from learners.datasets import prepare
    from learners.provider import BudgetWarning
    from learners.tuning import fit_methods

    frames = []
    for seed in range(seeds):
        with tempfile.TemporaryDirectory() as tmp:
            prep = prepare(name, root, tmp, seed=seed, table_format="parquet")
            train, val, test = (load_experiment(prep.folder / s)
                                for s in ("train", "validation", "test"))
            budgets = default_budgets(train)
            configs: dict[str, str] = {}
            t0 = [time.perf_counter()]

            def on_fit(m: str, fitted: object, cfg: object, score: float,
                       configs: dict[str, str] = configs, seed: int = seed,
                       t0: list[float] = t0) -> None:
                configs[m] = str(cfg)
                print(f"{name} seed {seed} {m}: {cfg} val {score:.5g} "
                      f"({time.perf_counter() - t0[0]:.0f} s)", flush=True)
                t0[0] = time.perf_counter()

            try:
                fitted = fit_methods(["tsm-sl", *[m for m in methods if m != "tsm-sl"]], train,
                                     val, budgets, seed=seed, workdir=tmp, on_fit=on_fit)
            except Exception as e:
                print(f"{name} seed {seed}: {type(e).__name__}: {e}", flush=True)
                raise
        fitted.pop("_lambdas")
        for m, why in fitted.pop("_skipped").items():
            print(f"{name} seed {seed} {m}: not applicable: {why}", flush=True)
        whole = {m: p for m, p in fitted.items() if not isinstance(p, list)}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BudgetWarning)
            res = compare(test, whole, budgets, form="ipw", n_boot=n_boot, seed=seed)
            parts = [res.table]
            for m, models in fitted.items():
                if not isinstance(models, list):
                    continue
                for k, p in enumerate(models):  # a primal model is scored at its own budget
                    r = compare(test, {"tsm-sl": fitted["tsm-sl"], m: p}, budgets[k:k + 1],
                                form="ipw", n_boot=n_boot, seed=seed).table
                    parts.append(r[r.model == m])
        f = pd.concat(parts, ignore_index=True)
        f.insert(0, "seed", seed)
        f["config"] = f["model"].map(configs)
        frames.append(f)
        if seed == 0:
            plot(f, out / f"learners_rct_{name}.png",
                 f"{name} (test split, seed 0): uplift over all-control at matched IPW spend")
    table = pd.concat(frames, ignore_index=True)
    table.to_csv(out / f"learners_rct_{name}.csv", index=False)
    return table


def plot(table: pd.DataFrame, path: Path, title: str) -> None:
    """Uplift vs budget per model with its bootstrap band (primal models: one per budget)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    for i, (m, g) in enumerate(table.groupby("model", sort=False)):
        g = g.sort_values("budget")
        ax.plot(g.budget, g.uplift, marker="o", markersize=3, label=m, color=f"C{i % 10}")
        if "uplift_lo" in g:
            ax.fill_between(g.budget, g.uplift_lo, g.uplift_hi, alpha=0.12, color=f"C{i % 10}")
    ax.set_xlabel("per-capita budget (incremental spend)")
    ax.set_ylabel("per-capita uplift (IPW)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summary(name: str, table: pd.DataFrame) -> str:
    per = table.groupby(["model", "seed"])["uplift"].mean().unstack("seed")
    lines = [f"\n{name}: mean over 10 budgets of the per-capita uplift over all-control "
             f"(test split), mean ± sd over {per.shape[1]} seeds",
             "| model | uplift | vs tsm-sl (seed-mean difference) | budgets where the paired "
             "95% CI (seed 0) excludes 0 |", "|---|---|---|---|"]
    base = per.loc["tsm-sl"] if "tsm-sl" in per.index else None
    s0 = table[table.seed == 0]
    for m in per.index:
        u = per.loc[m]
        diff = "-" if base is None or m == "tsm-sl" else f"{(u - base).mean():+.4g}"
        sig = "-"
        if m != "tsm-sl" and "diff_lo" in s0.columns:
            r = s0[s0.model == m]
            above = int(((r.diff_lo > 0)).sum())
            below = int(((r.diff_hi < 0)).sum())
            sig = f"{above} better, {below} worse, {len(r) - above - below} within noise"
        lines.append(f"| {m} | {u.mean():.4g} ± {u.std(ddof=1) if u.size > 1 else float('nan'):.2g}"
                     f" | {diff} | {sig} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", required=True)
    ap.add_argument("--datasets", default="hillstrom,social_pressure,thornton_hiv_incentives")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--methods", default="tsm-sl,t-learner,sklearn")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    texts = []
    for name in args.datasets.split(","):
        table = run_dataset(name, args.data_root, args.seeds, args.methods.split(","),
                            args.n_boot, out)
        texts.append(summary(name, table))
        print(texts[-1], flush=True)
    print("\n".join(texts))


if __name__ == "__main__":
    main()
