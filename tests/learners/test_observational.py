"""Learning from an observational log: estimated propensities and inverse-propensity weights."""

from __future__ import annotations

import numpy as np
import pytest

from formulations.errors import UsageError
from learners.methods import FitSpec, fit
from learners.propensity import estimate_propensity
from learners.simulate import simulate
from learners.training import TrainingOptions


@pytest.fixture(scope="module")
def logged():  # type: ignore[no-untyped-def]
    return simulate("plentiful", n_users=4_000, n_obs=20_000, seed=4)


def test_estimated_propensity_tracks_the_logging_policy(logged) -> None:  # type: ignore[no-untyped-def]
    log = logged.data["obs"]
    est = estimate_propensity(log)
    truth = logged.truth["obs"].logging_propensity
    assert est.propensity.shape == (log.n_units,) and np.all(est.propensity >= 0.01)
    assert np.corrcoef(est.propensity, truth)[0, 1] > 0.8
    assert est.clipped >= 0


def test_tsm_on_a_log_weights_by_estimated_propensity(logged) -> None:  # type: ignore[no-untyped-def]
    opts = TrainingOptions(epochs=3, patience=3, warmup=0, seed=0)
    p = fit(logged.data["obs"], FitSpec("tsm-sl", opts), validation=logged.data["validation"])
    assert p.training["kind"] == "observational"
    assert "estimated: logistic regression" in p.training["weights"]
    assert p.training["score"] == "eom"  # the validation split is an RCT: EOM still works


def test_observational_validation_scores_by_loss_and_dfcl_refuses(logged) -> None:  # type: ignore[no-untyped-def]
    from learners.decision_focused import DecisionSpec

    opts = TrainingOptions(epochs=2, patience=2, warmup=0, seed=0)
    log = logged.data["obs"]
    p = fit(log, FitSpec("tsm-sl", opts))  # the held-out 20% is observational too
    assert p.training["score"] == "loss"
    with pytest.raises(UsageError, match="needs randomised training data"):
        fit(log, FitSpec("dfcl-ppl", opts, decision=DecisionSpec(budget=0.5)))
