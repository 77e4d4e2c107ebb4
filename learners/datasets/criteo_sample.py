"""Criteo uplift v2.1, a 1,000-row sample: a SMOKE TEST of the loader path only.

Source
    Criteo AI Lab, "A Large Scale Benchmark for Uplift Modeling" (Diemert et al., AdKDD 2018).
    Raw file ``criteo_uplift_sample/criteo-uplift-v2.1-sample1000.csv`` (1,000 rows, sha256
    ``3177ba...71a7``), taken unchanged from a public GitHub repository; how its rows were
    chosen from the 13,979,592-row original is not documented.
Licence
    Criteo's dataset licence is CC BY-NC-SA 4.0: NON-COMMERCIAL, share-alike. Fine for tests
    and research, not for commercial use. Not shipped with treatalloc.
Design
    Binary randomised ad exposure: ``treatment`` 0 (control, 137 rows here) / 1 (863 rows).
    The arms are labelled "control" and "treatment" (instead of 0 / 1) so they read the same
    in every table and report.
Value and cost
    value = ``conversion``, cost = ``visit`` (both 0/1): the convention of the DHCL, DFCL and
    Bi-DFCL papers on this dataset (papers.md 0.7). Nothing is assumed.
    This sample has 2 conversions (both treated): far too few for any uplift evaluation; use
    it to check that the pipeline runs, never to compare methods.
Cleaning
    1. The header must be exactly ``f0..f11,treatment,conversion,visit,exposure`` (else an
       InstanceError); ``treatment``, ``conversion``, ``visit``, ``exposure`` must be 0/1,
       ``f0``..``f11`` numbers.
    2. Rows with an empty cell in a used column are dropped and counted (``missing_value``;
       none in this file).
Columns written
    ``row`` (unit id: the raw file's 1-based data row), ``treatment`` (control/treatment),
    ``conversion`` (outcome), ``visit`` (cost), ``exposure`` (extra), features ``f0``..``f11``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from learners.datasets.cleaned import Cleaned, Drop, drop_missing
from learners.datasets.raw import ROW, RawFile, numeric, read_raw, zero_one

NAME = "criteo_sample"
FEATURES = tuple(f"f{k}" for k in range(12))
RAW = (
    RawFile(
        "criteo_uplift_sample/criteo-uplift-v2.1-sample1000.csv",
        (*FEATURES, "treatment", "conversion", "visit", "exposure"),
        "3177ba5085da27f2092bae08f6318e3908a23e38965040432dd8889b688a71a7",
    ),
)
ARMS = ("control", "treatment")
BINARY = ("treatment", "conversion", "visit", "exposure")


def clean(root: Path) -> Cleaned:
    raw = RAW[0]
    df = read_raw(root, raw, NAME)
    src = str(root / raw.path)
    t = pd.DataFrame({
        ROW: df[ROW], **{c: zero_one(df, c, src) for c in BINARY},
        **{c: numeric(df, c, src) for c in FEATURES},
    })
    dropped: dict[str, Drop] = {}
    t = drop_missing(t, list(t.columns), "missing_value", "an empty cell in a used column",
                     dropped)
    t = t.astype({c: "int64" for c in ("conversion", "visit", "exposure")})
    t["treatment"] = np.asarray(ARMS, dtype=object)[t["treatment"].to_numpy(np.int64)]
    t = t[[ROW, "treatment", "conversion", "visit", "exposure", *FEATURES]]
    manifest = {
        "description": "Criteo uplift v2.1, 1,000-row sample (SMOKE TEST only: 2 conversions); "
                       "value = conversion, cost = visit (papers' convention).",
        "treatment": "treatment", "control": ARMS[0], "arms": list(ARMS),
        "outcome": "conversion", "cost": "visit", "features": list(FEATURES), "unit": ROW,
    }
    return Cleaned(frame=t, manifest=manifest, rows_read={raw.path: len(df)},
                   dropped=dropped)
