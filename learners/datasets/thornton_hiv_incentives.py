"""Thornton (2008) Malawi cash-incentive experiment: randomised money for learning an HIV result.

Source
    Thornton, R. L. (2008), "The Demand for, and Impact of, Learning HIV Status", American
    Economic Review 98(5), 1829-63. Raw file ``thornton_hiv_incentives/thornton_hiv.csv``
    (4,820 rows, sha256 ``d26c9b...7db``), converted unchanged from ``thornton_hiv.dta`` of
    the PyPI sdist ``causaldata==0.1.5`` (MIT).
Licence
    Public research data (as used in Cunningham, "Causal Inference: The Mixtape"); the
    causaldata package is MIT. Not shipped with treatalloc.
Design
    People tested for HIV at home were given a randomised incentive ``tinc`` (0 to about
    3 USD, in the file's unit) for coming to a results centre to learn their result.
    The treatment is a money amount, binned here into five arms:
    "0" (control: no incentive), "(0,0.5]", "(0.5,1]", "(1,2]", "(2,3]" (USD, right-closed).
    The published file's amounts run from 0 to 2.8368; the bins keep every arm well filled
    (621 / 560 / 580 / 698 / 370 units after cleaning), so no bin was merged. An amount
    outside [0, 3] is an error naming the row.
Value and cost
    value = ``got`` (1 if the person went and learned the result).
    cost = ``tinc`` if ``got`` else 0. Our reading of Thornton (2008): the incentive was a
    voucher redeemed at the results centre, so it was paid only to those who came; a person
    offered an incentive who did not come cost nothing. The cost is a real, per-unit amount
    that depends on the outcome (not a fixed per-arm figure).
Cleaning
    1. The header must be exactly the 7 columns of SOURCE.md (else an InstanceError); every
       column must be numeric, ``got`` 0/1.
    2. Rows with ``tinc`` or ``got`` empty are dropped and counted as
       ``not_in_incentive_sample`` (1,986 in the published file): those respondents were not
       in the incentive experiment.
    3. Of the rest, rows with an empty feature (``distvct``, ``age``, ``hiv2004``) are dropped
       and counted as ``missing_feature`` (5 in the published file, all ``age``).
    4. ``villnum`` (village id) is not used as a feature: 119 villages for 2,829 units (about
       24 per village) is too many levels for the sample size; it is kept as an extra column
       (4 of the kept rows have it empty) for clustered analyses. ``any`` (received any
       incentive) is dropped: it is ``tinc > 0``.
    5. ``hiv2004`` is kept as given: 0, 1 and, for 13 units of the published file, -1, a code
       the source does not explain (we read it as "no usable 2004 result"; it stays a number).
Columns written
    ``row`` (unit id: the raw file's 1-based data row), ``incentive`` (treatment: the bin
    label), ``got`` (outcome), ``cost`` (tinc * got), ``tinc`` (the amount offered, extra),
    ``villnum`` (extra), features ``distvct`` (km to the results centre), ``age``,
    ``hiv2004``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from formulations.errors import InstanceError
from learners.datasets.cleaned import (
    Cleaned,
    Drop,
    drop_missing,
    drop_where,
    ints_where_whole,
)
from learners.datasets.raw import ROW, RawFile, numeric, read_raw, where, zero_one

NAME = "thornton_hiv_incentives"
RAW = (
    RawFile(
        "thornton_hiv_incentives/thornton_hiv.csv",
        ("villnum", "got", "distvct", "tinc", "any", "age", "hiv2004"),
        "d26c9bbe290d58a2bddda8c5946fe9f00ad5fdf64a261780716b0777bb5ce7db",
    ),
)
ARMS = ("0", "(0,0.5]", "(0.5,1]", "(1,2]", "(2,3]")
EDGES = (0.0, 0.5, 1.0, 2.0, 3.0)
"""Right-closed bin edges of ``tinc``: 0 exactly is the control, then (0, 0.5], ..., (2, 3]."""
FEATURES = ("distvct", "age", "hiv2004")


def incentive_arm(tinc: np.ndarray) -> np.ndarray:
    """Bin label of each amount (the amounts must lie in [0, 3])."""
    return np.asarray(ARMS, dtype=object)[np.searchsorted(EDGES, tinc, side="left")]


def clean(root: Path) -> Cleaned:
    raw = RAW[0]
    df = read_raw(root, raw, NAME)
    src = str(root / raw.path)
    tinc = numeric(df, "tinc", src)
    v = tinc.to_numpy()
    out = np.flatnonzero((v < EDGES[0]) | (v > EDGES[-1]))
    if out.size:
        i = int(out[0])
        raise InstanceError(src, where(df, i, "tinc"),
                            f"expected an incentive in [0, 3], found {v[i]!r}")
    t = pd.DataFrame({
        ROW: df[ROW], "got": zero_one(df, "got", src), "tinc": tinc,
        "villnum": numeric(df, "villnum", src),
        **{c: numeric(df, c, src) for c in FEATURES},
    })
    zero_one(df, "any", src)  # checked, then dropped (it is tinc > 0)
    dropped: dict[str, Drop] = {}
    t = drop_where(t, (t["tinc"].isna() | t["got"].isna()).to_numpy(),
                   "not_in_incentive_sample",
                   "tinc or got empty: the respondent was not in the incentive experiment",
                   dropped)
    t = drop_missing(t, list(FEATURES), "missing_feature",
                     "an empty feature (distvct, age or hiv2004)", dropped)
    t = ints_where_whole(t, ["got", "age", "hiv2004"])
    t["villnum"] = t["villnum"].astype("Int64")
    t["incentive"] = incentive_arm(t["tinc"].to_numpy())
    t["cost"] = t["tinc"] * t["got"]
    t = t[[ROW, "incentive", "got", "cost", "tinc", "villnum", *FEATURES]]
    manifest = {
        "description": "Thornton (2008) HIV-result incentive RCT; arms = binned incentive "
                       "(USD); value = got (learned the result); cost = tinc if got else 0 "
                       "(voucher paid at the results centre; our reading).",
        "treatment": "incentive", "control": ARMS[0], "arms": list(ARMS), "outcome": "got",
        "cost": "cost", "features": list(FEATURES), "unit": ROW,
    }
    return Cleaned(frame=t, manifest=manifest, rows_read={raw.path: len(df)},
                   dropped=dropped)
