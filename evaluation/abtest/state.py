"""STATE (Zhou et al., KDD 2024): ATE from a regression with Student-t errors, fitted by
variational EM, on the cross-fitted ML prediction; with a guard and a mean-unbiased fallback.

RECONSTRUCTION [I] (papers.md section 3; only the paper's abstract was available). The working
model y = a0 + a1 T + a2 g(X) + e, e ~ t_nu(0, sigma2) (no T x g interaction), the EM updates
and the nu update are reconstructed from standard t-regression theory and third-party code; the
paper's variance formula was not recovered, so the reported SE is the M-estimator sandwich
(nu, sigma2 fixed), with the model-based (Fisher) SE kept in ``detail``. Calibration of both is
checked by simulation in benchmarks/abtest_protocol.py.

Estimand: the fit estimates a robust location shift. It equals the mean ATE only for additive
effects on symmetric noise or rare gross outliers (whose effect it ignores). See guard.py for the
cases where it fails and is replaced by MLRATE (or Lin) on the same covariate.
"""

from __future__ import annotations

import warnings

import numpy as np

from evaluation.abtest.guard import check_state
from evaluation.abtest.lin import lin
from evaluation.abtest.result import AbTestResult, z_result
from evaluation.abtest.t_regression import fit_t_regression, t_covariances


class StateGuardWarning(UserWarning):
    """STATE was not run on data where it is known to be biased; a fallback was used."""


def state_design(t: np.ndarray, z: np.ndarray) -> np.ndarray:
    z2 = z[:, None] if z.ndim == 1 else z
    return np.column_stack([np.ones(t.size), t.astype(float), z2])


def state_unguarded(y: np.ndarray, t: np.ndarray, z: np.ndarray, *, nu: float | None = None,
                    alpha: float = 0.05) -> AbTestResult:
    """STATE, RECONSTRUCTION [I] (see the module docstring), with no guard: for validation only;
    use ``state`` in analyses."""
    design = state_design(t, z)
    fit = fit_t_regression(y, design, nu=nu)
    sandwich, model = t_covariances(y, design, fit)
    n1 = int(t.sum())
    notes: tuple[str, ...] = () if fit.converged else (
        f"EM stopped after {fit.iterations} iterations without converging",)
    return z_result(
        "state", float(fit.coef[1]), float(np.sqrt(sandwich[1, 1])), alpha=alpha,
        n_control=t.size - n1, n_treatment=n1, notes=notes,
        detail={"nu": fit.nu, "sigma2": fit.sigma2, "coef": fit.coef.tolist(),
                "se_model": float(np.sqrt(model[1, 1])), "iterations": fit.iterations,
                "downweighted_share": float(np.mean(fit.weights < 0.5)),
                "converged": fit.converged},
    )


def state(y: np.ndarray, t: np.ndarray, z: np.ndarray, *, nu: float | None = None,
          alpha: float = 0.05, guard: bool = True, fallback_name: str = "mlrate") -> AbTestResult:
    """STATE, RECONSTRUCTION [I] of Zhou et al. 2024 (see the module docstring), with the guard:
    where the data show a point mass or a skewed bulk (guard.py), warn
    and return regression adjustment with interactions on the same covariate ``z`` (= MLRATE
    when ``z`` is the cross-fitted prediction), with ``method='state'`` and notes saying so."""
    if guard:
        design = state_design(t, z)
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        report = check_state(y, y - design @ coef)
        if report.triggered:
            why = "; ".join(report.reasons)
            warnings.warn(f"STATE is biased on such data ({why}); reporting {fallback_name} "
                          "instead", StateGuardWarning, stacklevel=2)
            fb = lin(y, t, z, hc="HC1", alpha=alpha, method="state")
            return fb.with_(
                notes=(f"guard: {why}; fell back to {fallback_name}",),
                detail={**fb.detail, "fallback": fallback_name, "guard": report.reasons,
                        "mode_share": report.mode_share,
                        "kelly_skewness": report.kelly_skewness},
            )
    return state_unguarded(y, t, z, nu=nu, alpha=alpha)
