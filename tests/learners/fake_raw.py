"""Small raw files in the published layouts, for tests that must not need the shared data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def write_criteo(root: Path, n: int = 60, seed: int = 0) -> Path:
    """A criteo_uplift_sample-shaped file: f0..f11, treatment, conversion, visit, exposure."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"f{k}": rng.normal(size=n) for k in range(12)})
    df["treatment"] = (np.arange(n) % 3 != 0).astype(int)  # 2/3 treated, every arm present
    df["conversion"] = rng.integers(0, 2, n)
    df["visit"] = rng.integers(0, 2, n)
    df["exposure"] = rng.integers(0, 2, n)
    path = root / "criteo_uplift_sample" / "criteo-uplift-v2.1-sample1000.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return path


def write_thornton(root: Path) -> pd.DataFrame:
    """A thornton_hiv.csv with every arm, rows outside the incentive sample and a missing age.

    Returns the frame written (NaN where the cell is empty).
    """
    tinc = np.array([0, 0.2, 0.5, 0.7, 1.0, 1.5, 2.0, 2.5, 3.0] * 4, dtype=float)
    n = tinc.size
    got = np.tile([1, 0, 1, 1], n // 4).astype(float)
    df = pd.DataFrame({
        "villnum": np.arange(n) % 5 + 1.0, "got": got, "distvct": np.linspace(0.5, 4, n),
        "tinc": tinc, "any": (tinc > 0).astype(float), "age": 20.0 + np.arange(n),
        "hiv2004": np.zeros(n),
    })
    extra = pd.DataFrame({  # two outside the incentive sample, one with an empty age
        "villnum": [1.0, 2.0, 3.0], "got": [np.nan, 1.0, 1.0], "distvct": [1.0, 1.0, 1.0],
        "tinc": [np.nan, np.nan, 0.2], "any": [np.nan, np.nan, 1.0], "age": [30.0, 31.0, np.nan],
        "hiv2004": [np.nan, 0.0, 0.0],
    })
    df = pd.concat([df, extra], ignore_index=True)
    path = root / "thornton_hiv_incentives" / "thornton_hiv.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return df


def write_social_pressure(root: Path, rows: list[str] | None = None) -> Path:
    """A gzipped social_pressure.csv.gz with the source's quirks (leading spaces, Yes/yes)."""
    header = "sex,yob,g2000,g2002,g2004,p2000,p2002,p2004,treatment,voted,hh_size"
    arms = [" Control", " Civic Duty", " Hawthorne", " Self", " Neighbors"]
    body = rows or [
        f"{'male' if i % 2 else 'female'},{1950 + i},yes,no,yes,no,yes,{'Yes' if i % 3 else 'No'},"
        f"{arms[i % 5]},{'Yes' if i % 4 else 'No'},{1 + i % 3}"
        for i in range(50)
    ]
    path = root / "social_pressure" / "social_pressure.csv.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([r.split(",") for r in body], columns=header.split(",")).to_csv(
        path, index=False, compression="gzip"
    )
    return path
