"""The IPW EOM estimate is unbiased for the simulator's true value of the same policy."""

from __future__ import annotations

import numpy as np

from evaluation.eom_curve import eom_curve, true_policy_value
from learners.simulate import simulate


def test_ipw_eom_is_unbiased_against_the_truth() -> None:
    # a fixed, feature-based policy (no learning involved): predicted value rises with history
    # and with the coupon, predicted cost is the face value times history, so the λ path is
    # a deterministic function of the features; each draw re-randomises arms and outcomes
    errors, uplift_errors = [], []
    for seed in range(150):
        sim = simulate("scarce", n_users=2_000, n_obs=0, seed=seed)
        d, t = sim.data["test"], sim.truth["test"]
        h = d.features["history"].to_numpy()[:, None]
        face = np.array([0.0, 1.0, 2.0, 3.0, 5.0])[None, :]
        value_pred = h * (1 + 0.3 * np.sqrt(face)) + 0.05 * face
        cost_pred = face * (h + 0.1)
        curve = eom_curve(d.arm, d.outcome, d.cost, value_pred, cost_pred, [0.5],
                          propensity=d.propensity)
        true = true_policy_value(curve.chosen[0], t.value, t.cost)
        errors.append(curve.value[0] - true.value)
        uplift_errors.append(curve.uplift[0] - true.uplift)
    for e in (np.asarray(errors), np.asarray(uplift_errors)):
        se = e.std(ddof=1) / np.sqrt(e.size)
        assert abs(e.mean()) < 3 * se, (e.mean(), se)
        assert e.std() > 0  # the estimate is noisy, the check is not vacuous
