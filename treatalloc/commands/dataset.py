"""treatalloc dataset NAME: clean a real public RCT and write it as experiment data (v1)."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "clean a public RCT (hillstrom, social_pressure, ...) into train/validation/test data"

EPILOG = (
    "Writes OUT/NAME/{all,train,validation,test}/data.toml (+ data.csv or data.parquet) and "
    "OUT/NAME/prepared.toml. The raw files are not shipped: --data-root (else "
    "$TREATALLOC_DATA_ROOT) is the folder holding one folder per dataset, e.g. "
    "hillstrom/hillstrom.csv. OUT defaults to $TREATALLOC_CACHE, else "
    "~/.cache/treatalloc/datasets. --json prints one object with the keys dataset, folder, "
    "table_format, seed, fractions, test_split, rows_read {file: rows}, rows, dropped {reason: "
    "{rows, why}}, arms, arm_stats {arm: {rows, propensity, mean_value, mean_cost}}, splits "
    "{all|train|validation|test: {manifest, rows, arms {arm: rows}}}, checksums [{file, "
    "sha256, expected, matches}], warnings. See docs/datasets.md."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.add_argument("name", metavar="NAME",
                   help="hillstrom, social_pressure, thornton_hiv_incentives, starbucks_promo "
                        "or criteo_sample")
    p.add_argument("--data-root", default=None,
                   help="folder of the raw dataset folders (default $TREATALLOC_DATA_ROOT)")
    p.add_argument("--out", default=None,
                   help="cache folder; NAME/ is written inside (default $TREATALLOC_CACHE, "
                        "else ~/.cache/treatalloc/datasets)")
    p.add_argument("--seed", default="0", help="seed of the random split (default 0)")
    p.add_argument("--split", default="0.6,0.2,0.2",
                   help="train,validation,test fractions, stratified by arm (default "
                        "0.6,0.2,0.2; starbucks_promo's test is Test.csv)")
    p.add_argument("--parquet", action="store_true", help="write Parquet tables instead of CSV")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    import warnings

    from formulations.errors import UsageError
    from learners.datasets import dataset_module
    from learners.datasets.build import prepare_dataset
    from learners.datasets.splits import parse_fractions

    module = dataset_module(args.name, what="NAME")
    fractions = parse_fractions(args.split, what="--split")
    try:
        seed = int(args.seed)
    except ValueError:
        raise UsageError(f"--seed: expected an integer, got {args.seed!r}") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepared = prepare_dataset(
            module, args.data_root, args.out, seed=seed, fractions=fractions,
            table_format="parquet" if args.parquet else "csv",
            root_flag="--data-root", out_flag="--out", split_flag="--split",
        )
    for w in caught:
        print(f"treatalloc dataset: warning: {w.message}", file=sys.stderr)
    if args.json:
        print(json.dumps(prepared.to_dict()))
        return 0
    _summary(prepared.to_dict())
    return 0


def _summary(d: dict) -> None:
    files = ", ".join(f"{f} ({n} rows)" for f, n in d["rows_read"].items())
    print(f"dataset   {d['dataset']}")
    print(f"read      {files}")
    sums = "; ".join(
        f"{c['file']} {'matches' if c['matches'] else 'DIFFERS from'} SOURCE.md"
        for c in d["checksums"]
    )
    print(f"sha256    {sums}")
    drops = ", ".join(f"{k} {v['rows']}" for k, v in d["dropped"].items()) or "none"
    print(f"kept      {d['rows']} rows (dropped: {drops})")
    width = max(len(a) for a in d["arms"])
    print(f"arms      {'arm':<{width}}  {'rows':>7}  {'p':>7}  {'mean value':>10}  "
          f"{'mean cost':>10}")
    for a in d["arms"]:
        s = d["arm_stats"][a]
        print(f"          {a:<{width}}  {s['rows']:>7}  {s['propensity']:>7.4f}  "
              f"{s['mean_value']:>10.4f}  {s['mean_cost']:>10.4f}")
    fr = "/".join(f"{x:g}" for x in d["fractions"])
    test = "random" if d["test_split"] == "random" else f"= {d['test_split']}"
    print(f"splits    seed {d['seed']}, fractions {fr}, stratified by arm, test {test}")
    for k, s in d["splits"].items():
        arms = ", ".join(str(n) for n in s["arms"].values())
        print(f"          {k:<10} {s['rows']:>7} rows ({arms})  {s['manifest']}")
    print(f"report    {d['folder']}/prepared.toml")
