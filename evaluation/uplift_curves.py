"""Qini and uplift curves of a ranking by predicted uplift (binary treatment, randomised data).

The usual definitions (Radcliffe 2007; as in scikit-uplift's ``qini_curve`` / ``uplift_curve``
and causalml's ``get_qini`` / ``get_tmlegain`` family). Rank units by predicted uplift
descending; at each cut-off k (after the last unit of each distinct score, plus k = 0) let
N_T(k), N_C(k) be the treated and control units ranked so far and Y_T(k), Y_C(k) the sums of
their outcomes:

    Qini:    Q(k) = Y_T(k) - Y_C(k) N_T(k) / N_C(k)                  (0 where N_C(k) = 0)
    uplift:  U(k) = (Y_T(k) / N_T(k) - Y_C(k) / N_C(k)) k           (each ratio 0 where empty)

Both are incremental outcomes of targeting the top k: Q rescales the control sum to the
treated group's size, U scales the difference in means to the k units. Areas are trapezoids
over k = 0..N (in units x outcome). The random ranking's expected curve is the chord from
(0, 0) to (N, curve(N)), area N curve(N) / 2; the perfect curve ranks by the oracle score
y_i (2 t_i - 1) (treated responders first, control responders last; scikit-uplift's perfect
Qini curve with negative effects allowed, used here for the uplift curve too). The normalised
coefficient is

    (area - random area) / (perfect area - random area)

(scikit-uplift's ``qini_auc_score`` / ``uplift_auc_score``): 0 for random, 1 for perfect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.policy import _finite, _vector
from formulations.errors import UsageError

KINDS = ("qini", "uplift")


@dataclass(frozen=True, eq=False)
class UpliftCurve:
    """A Qini or uplift curve, its area, the random and perfect areas, the coefficient."""

    kind: str
    n_targeted: np.ndarray
    """(P,) k: units ranked at each point, 0 first and N last."""
    values: np.ndarray
    """(P,) Q(k) or U(k)."""
    area: float
    random_area: float
    perfect_area: float
    coefficient: float
    """(area - random) / (perfect - random); NaN when perfect = random."""

    @property
    def n(self) -> int:
        return int(self.n_targeted[-1])

    @property
    def fraction(self) -> np.ndarray:
        """(P,) k / N, the share of units targeted."""
        return np.asarray(self.n_targeted / max(self.n, 1))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"n_targeted": self.n_targeted, "fraction": self.fraction,
                             self.kind: self.values})


def _inputs(treated: np.ndarray, outcome: np.ndarray, score: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = _vector("treated", treated, None)
    n = t.shape[0]
    if n == 0:
        raise UsageError("treated: expected at least one unit, got an empty array")
    if t.dtype != np.bool_:
        if not np.isin(t, (0, 1)).all():
            raise UsageError("treated: expected booleans or 0/1 (binary treatment)")
        t = t.astype(bool)
    if t.all() or not t.any():
        raise UsageError(f"treated: expected both treated and control units, got {int(t.sum())} "
                         f"treated of {n}")
    y = _finite("outcome", _vector("outcome", outcome, n))
    s = _finite("score", _vector("score", score, n))
    return t, y, s


def _points(t: np.ndarray, y: np.ndarray, s: np.ndarray, kind: str
            ) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-s, kind="stable")
    t, y, s = t[order], y[order], s[order]
    # one point after the last unit of every distinct score (tied units move together)
    ends = np.flatnonzero(np.append(s[1:] != s[:-1], True))
    n_t = np.cumsum(t)[ends].astype(np.float64)
    k = (ends + 1).astype(np.float64)
    n_c = k - n_t
    y_t = np.cumsum(np.where(t, y, 0.0))[ends]
    y_c = np.cumsum(np.where(t, 0.0, y))[ends]
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "qini":
            values = y_t - np.where(n_c > 0, y_c * n_t / n_c, 0.0)
        else:
            values = (np.where(n_t > 0, y_t / n_t, 0.0) - np.where(n_c > 0, y_c / n_c, 0.0)) * k
    return np.concatenate([[0.0], k]), np.concatenate([[0.0], values])


def _area(x: np.ndarray, v: np.ndarray) -> float:
    return float(np.sum((x[1:] - x[:-1]) * (v[1:] + v[:-1]) / 2.0))


def _curve(treated: np.ndarray, outcome: np.ndarray, score: np.ndarray, kind: str
           ) -> UpliftCurve:
    if kind not in KINDS:
        raise UsageError(f"kind: expected one of {list(KINDS)}, got {kind!r}")
    t, y, s = _inputs(treated, outcome, score)
    x, v = _points(t, y, s, kind)
    xp, vp = _points(t, y, y * np.where(t, 1.0, -1.0), kind)
    area, perfect = _area(x, v), _area(xp, vp)
    random = float(x[-1] * v[-1] / 2.0)
    coef = float("nan") if perfect == random else (area - random) / (perfect - random)
    return UpliftCurve(kind=kind, n_targeted=x.astype(np.int64), values=v, area=area,
                       random_area=random, perfect_area=perfect, coefficient=coef)


def qini_curve(treated: np.ndarray, outcome: np.ndarray, score: np.ndarray) -> UpliftCurve:
    """Qini curve Q(k) of ranking by ``score`` (predicted uplift), with its normalised Qini
    coefficient (see the module docstring)."""
    return _curve(treated, outcome, score, "qini")


def uplift_curve(treated: np.ndarray, outcome: np.ndarray, score: np.ndarray) -> UpliftCurve:
    """Uplift curve U(k) of ranking by ``score`` (predicted uplift), with its normalised area
    (see the module docstring)."""
    return _curve(treated, outcome, score, "uplift")
