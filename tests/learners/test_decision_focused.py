"""DHCL and the DFCL losses trained through `fit`: end to end, saved, warm-started, refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evaluation.eom_curve import true_value_at_budget
from formulations.errors import UsageError
from learners.decision_focused import DecisionSpec
from learners.methods import FitSpec, fit
from learners.provider import BudgetWarning
from learners.saved import load_model, save_model
from learners.simulate import Simulation
from learners.training import TrainingOptions
from treatalloc.cli import main

OPTS = TrainingOptions(epochs=20, patience=20, warmup=5, batch_size=256, seed=3)
SCRATCH = TrainingOptions(epochs=40, patience=40, warmup=5, batch_size=256, seed=3)
"""dhcl trains from scratch (the others fine-tune a TSM-SL): it gets more epochs"""
DUAL = ("dfcl-pl", "dfcl-mer", "dfcl-ifd")
PRIMAL = ("dfcl-ppl", "dfcl-pifd")


@pytest.fixture(scope="module")
def warm(small_sim: Simulation, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple]:
    """A TSM-SL model to warm-start from, and a λ set: its λ* at three training budgets."""
    from learners.oracle import lambda_star

    tsm = fit(small_sim.data["train"], FitSpec("tsm-sl", OPTS),
              validation=small_sim.data["validation"])
    folder = tmp_path_factory.mktemp("init") / "tsm"
    save_model(tsm, folder)
    tr = small_sim.data["train"]
    vp, cp = tsm.predict(tr)
    lams = tuple(round(lambda_star(vp, cp, b, received=tr.arm, cost=tr.cost,
                                   propensity=tr.propensity), 6) for b in (0.4, 1.0, 2.0))
    return folder, lams


def spec_for(method: str, warm: tuple[Path, tuple]) -> DecisionSpec:
    folder, lams = warm
    if method == "dhcl":
        return DecisionSpec()
    if method in DUAL:
        return DecisionSpec(lambdas=lams, init=str(folder))
    return DecisionSpec(budget=0.8, init=str(folder))


@pytest.mark.parametrize("method", ["dhcl", *DUAL, *PRIMAL])
def test_method_beats_all_control_and_random(small_sim: Simulation, warm: tuple[Path, tuple],
                                             method: str, tmp_path: Path) -> None:
    opts = SCRATCH if method == "dhcl" else OPTS
    provider = fit(small_sim.data["train"], FitSpec(method, opts, decision=spec_for(method, warm)),
                   validation=small_sim.data["validation"])
    assert provider.method == method
    test, truth = small_sim.data["test"], small_sim.truth["test"]
    tv, tc = truth.incremental()
    budgets = np.array([0.8]) if method in PRIMAL else np.array([0.4, 0.8, 1.6])
    curve = true_value_at_budget(*provider.predict(test), truth.value, truth.cost, budgets)
    assert np.all(curve.fits)
    for k in range(budgets.size):
        shares = np.bincount(curve.chosen[k], minlength=5) / test.n_units
        random_value = (shares @ tv.mean(axis=0)) * min(1.0, curve.spend[k]
                                                        / (shares @ tc.mean(axis=0)))
        assert curve.uplift[k] > 0.0
        assert curve.uplift[k] > random_value + 0.003, (method, k, curve.uplift[k], random_value)
    # a saved decision-focused model is an ordinary provider: reloaded, bit-identical
    save_model(provider, tmp_path / "m")
    again = load_model(tmp_path / "m")
    a, b = provider.predict(test), again.predict(test)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert again.method == method


def test_dhcl_instance_allocation_is_its_comparison_rule(small_sim: Simulation) -> None:
    import torch

    from learners.losses import dhcl_choice
    from learners.oracle import lagrangian_argmax

    provider = fit(small_sim.data["train"], FitSpec("dhcl", OPTS),
                   validation=small_sim.data["validation"])
    test = small_sim.data["test"].subset(np.arange(2000))
    value, cost = provider.predict(test)
    with torch.no_grad():
        theta, _ = provider.network(torch.from_numpy(provider.schema.encode(test)))
    order = provider.order
    for lam in (0.02, 0.05, 0.1, 0.3):
        by_rule = order[dhcl_choice(theta.double().numpy()[:, :-1], lam)]  # last: baseline
        assert np.array_equal(lagrangian_argmax(value, cost, lam), by_rule), lam


def test_warm_start_starts_from_the_init_model(small_sim: Simulation,
                                               warm: tuple[Path, tuple]) -> None:
    init = load_model(warm[0])
    tiny = TrainingOptions(epochs=2, patience=2, warmup=0, lr=1e-9, batch_size=256, seed=3)
    p = fit(small_sim.data["train"], FitSpec("dfcl-pl", tiny, decision=spec_for("dfcl-pl", warm)),
            validation=small_sim.data["validation"])
    test = small_sim.data["test"]
    assert np.allclose(p.predict(test)[0], init.predict(test)[0], atol=1e-4)
    assert p.hyperparameters["init"] == str(warm[0])


@pytest.mark.parametrize(
    ("method", "spec", "message"),
    [
        ("dfcl-pl", DecisionSpec(budget=0.5), "--lambdas: dfcl-pl is a dual method"),
        ("dfcl-ppl", DecisionSpec(lambdas=(0.1,)), "--budget: dfcl-ppl is a primal method"),
        ("dfcl-mer", DecisionSpec(lambdas=()), "--lambdas: expected at least one"),
        ("dfcl-mer", DecisionSpec(lambdas=(0.1,), tau=0.0), "--tau: expected a temperature > 0"),
        ("dfcl-pifd", DecisionSpec(budget=-0.1), "--budget: expected a per-capita"),
        ("dfcl-ifd", DecisionSpec(lambdas=(0.1, -1.0)), "--lambdas: expected finite"),
        ("dhcl", DecisionSpec(budget=0.5), "--lambdas / --budget: dhcl"),
        ("dfcl-pl", DecisionSpec(lambdas=(0.1,), pl_weight=-1), "--pl-weight"),
    ],
)
def test_bad_decision_flags(small_sim: Simulation, method: str, spec: DecisionSpec,
                            message: str) -> None:
    with pytest.raises(UsageError, match=message):
        fit(small_sim.data["train"], FitSpec(method, OPTS, decision=spec))


def test_budget_above_all_max_spend_warns(small_sim: Simulation) -> None:
    tiny = TrainingOptions(epochs=1, patience=1, warmup=0, seed=3)
    with pytest.warns(BudgetWarning, match="every unit gets its top arm"):
        fit(small_sim.data["train"], FitSpec("dfcl-ppl", tiny, decision=DecisionSpec(budget=1e3)),
            validation=small_sim.data["validation"])


def test_cli_names_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            small_sim: Simulation) -> None:
    from learners.simulate import write_simulation

    write_simulation(small_sim, tmp_path / "sim")
    cases = [
        (["--method", "dfcl-pl", "--budget", "0.5"], "--lambdas"),
        (["--method", "dfcl-ppl", "--lambdas", "0.1,0.2"], "--budget"),
        (["--method", "dfcl-mer", "--lambdas", "0.1", "--tau", "-1"], "--tau"),
        (["--method", "dfcl-mer", "--lambdas", ""], "--lambdas"),
        (["--method", "dfcl-mer", "--lambdas", "a,b"], "--lambdas"),
        (["--method", "tsm-sl", "--tau", "0.5"], "only for the decision-focused methods"),
        (["--method", "dfcl-ppl", "--budget", "0.5", "--init", str(tmp_path / "none")],
         "no saved model here"),
    ]
    for extra, message in cases:
        capsys.readouterr()
        code = main(["fit", str(tmp_path / "sim" / "train"), "--model-dir",
                     str(tmp_path / "m"), "--quiet", *extra])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and message in err[0], (extra, err)
        assert not (tmp_path / "m").exists()
