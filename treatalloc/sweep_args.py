"""Parsing sweeps on the command line: ``START:STOP:COUNT``, ``NAME=V1,...``, ``OPTION=FACTOR``
(what-if fractions, and the learners' per-capita budget grids).

The engine takes typed values (engine.whatif: fractions, limits, factor mappings); the text of
the flags is read here, and every message names the flag and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from engine.whatif import MAX_POINTS
from formulations.errors import UsageError


def _finite(text: str, what: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise UsageError(f"{what}: expected a number, got {text!r}") from None
    if not math.isfinite(x):
        raise UsageError(f"{what}: expected a finite number, got {text!r}")
    return x


def parse_scale_range(text: str) -> np.ndarray:
    """``"START:STOP:COUNT"`` -> COUNT evenly spaced budget fractions from START to STOP.

    START and STOP are fractions of the instance's budgets (1.0 = the limits in the file); both
    must be > 0, START <= STOP, COUNT an integer >= 1 (COUNT = 1 needs START == STOP).
    """
    what = f"--budgets {text!r}"
    parts = text.split(":")
    if len(parts) != 3:
        raise UsageError(f"{what}: expected START:STOP:COUNT, e.g. 0.5:1.5:11")
    start = _finite(parts[0], f"{what}: START")
    stop = _finite(parts[1], f"{what}: STOP")
    try:
        count = int(parts[2])
    except ValueError:
        raise UsageError(f"{what}: COUNT: expected an integer >= 1, got {parts[2]!r}") from None
    if start <= 0 or stop <= 0:
        raise UsageError(
            f"{what}: budget fractions must be > 0 (a zero or negative budget is not a plan); "
            f"got START={start:g}, STOP={stop:g}"
        )
    if start > stop:
        raise UsageError(f"{what}: expected START <= STOP, got {start:g} > {stop:g}")
    if count < 1 or count > MAX_POINTS:
        raise UsageError(f"{what}: COUNT: expected an integer from 1 to {MAX_POINTS}, got {count}")
    if count == 1 and start != stop:
        raise UsageError(f"{what}: one point (COUNT=1) needs START == STOP")
    if count > 1 and start == stop:
        raise UsageError(f"{what}: START == STOP with COUNT={count} repeats one point")
    return np.linspace(start, stop, count)


def parse_budget_values(text: str) -> tuple[str, np.ndarray]:
    """``"NAME=V1,V2,..."`` -> (budget name, sorted absolute limits, all > 0, no repeats)."""
    what = f"--budget {text!r}"
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name or not raw.strip():
        raise UsageError(f"{what}: expected NAME=V1,V2,... e.g. cash=100,150,200")
    values = np.array([_finite(v.strip(), f"{what}: value") for v in raw.split(",")])
    bad = values[values <= 0]
    if bad.size:
        raise UsageError(f"{what}: budget limits must be > 0, got {bad[0]:g}")
    if values.size > MAX_POINTS:
        raise UsageError(f"{what}: at most {MAX_POINTS} values, got {values.size}")
    values = np.sort(values)
    if np.any(np.diff(values) == 0):
        raise UsageError(f"{what}: a value is given twice")
    return name, values


def parse_factors(items: Sequence[str] | None, what: str) -> dict[str, float]:
    """``["coupon_1=1.2", ...]`` -> ``{"coupon_1": 1.2}``; finite factors >= 0, each option once."""
    out: dict[str, float] = {}
    for item in items or ():
        option, sep, raw = item.rpartition("=")
        if not sep or not option:
            raise UsageError(f"{what} {item!r}: expected OPTION=FACTOR, e.g. coupon_1=1.2")
        factor = _finite(raw, f"{what} {item!r}: FACTOR")
        if factor < 0:
            raise UsageError(f"{what} {item!r}: FACTOR must be >= 0, got {factor:g}")
        if option in out:
            raise UsageError(f"{what}: option {option!r} is given twice")
        out[option] = factor
    return out


def parse_per_capita(text: str, flag: str) -> np.ndarray:
    """``START:STOP:COUNT`` -> COUNT evenly spaced per-capita budgets >= 0 (fit, evaluate:
    ``--per-capita``); one number alone is one budget."""
    parts = text.split(":")
    try:
        if len(parts) == 1:
            values = np.array([float(parts[0])])
        elif len(parts) == 3:
            count = int(parts[2])
            if count < 1:
                raise ValueError
            values = np.linspace(float(parts[0]), float(parts[1]), count)
        else:
            raise ValueError
    except ValueError:
        raise UsageError(f"{flag}: expected START:STOP:COUNT (e.g. 0.1:1.0:10) or one number, "
                         f"got {text!r}") from None
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise UsageError(f"{flag}: expected non-negative finite budgets, got {text!r}")
    return values
