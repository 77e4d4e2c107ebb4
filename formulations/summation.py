"""A compensated sum: the usage and value of an allocation, accurate to about one rounding.

"Within budget" is checked against the budgets as written, so the sum of an allocation's costs
must not carry the accumulated rounding of a plain float sum (n * eps relative at worst). This
is Neumaier's compensated summation, vectorised: the array is cut into rows of ``LANES``
consecutive entries, each of the ``LANES`` lanes keeps a running sum and a running correction
across the rows, and the lanes' sums and corrections are added exactly at the end
(``math.fsum``). Each lane is accurate to 2 eps of its sum plus (rows * eps)^2 of its terms, so
the result is within a few units in the last place of the exact sum for any n that fits in
memory. About 35 ms for 10^7 entries (a plain numpy sum: 4 ms; ``math.fsum`` alone: 370 ms).
"""

from __future__ import annotations

import math

import numpy as np

#: lanes of the vectorised compensated sum (a row of this many float64 stays in cache)
LANES = 1 << 14


def compensated_sum(values: np.ndarray) -> float:
    """The sum of a 1-D array with compensated (Neumaier) summation; see the module docstring."""
    a = np.asarray(values, dtype=np.float64).reshape(-1)
    n = a.size
    if n <= 4 * LANES:
        return math.fsum(a.tolist()) if n < 4096 else math.fsum(a)
    rows = n // LANES
    s = a[:LANES].copy()
    c = np.zeros(LANES)
    t = np.empty(LANES)
    d = np.empty(LANES)
    e = np.empty(LANES)
    small = np.empty(LANES, dtype=bool)
    for i in range(1, rows):
        x = a[i * LANES:(i + 1) * LANES]
        np.add(s, x, out=t)
        # Neumaier: the low-order part lost by t = s + x, taken from the larger of s and x
        np.subtract(s, t, out=d)
        d += x
        np.subtract(x, t, out=e)
        e += s
        np.less(np.abs(s), np.abs(x), out=small)
        np.copyto(d, e, where=small)
        c += d
        s, t = t, s
    rest = a[rows * LANES:]
    return math.fsum(np.concatenate([s, c, rest]))
