"""Saved models: a folder with ``model.toml`` and the weights.

``model.toml`` holds the format version, the method, its hyperparameters, the arms (control
first), the feature schema with the one-hot categories, the target scales (and fixed per-arm
costs), the seed, the training data's name and rows, and the package version. The weights are a
torch state dict (``weights.pt``, loaded with ``weights_only=True``, so loading never runs code
from the file) or, for the scikit-learn adapter, a skops file (``models.skops``) whose loader
trusts only the types of scikit-learn, numpy and scipy (and prefixes the caller adds).

A model folder is written atomically: built beside the target and renamed into place, so a failed
fit leaves no half-written model. Loading refuses another format version with a clear message.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from formulations.atomic_write import atomic_dir
from formulations.errors import InstanceError, UsageError
from learners.features import FeatureSchema

FORMAT_VERSION = 1
MODEL_FILE = "model.toml"
TORCH_WEIGHTS = "weights.pt"
SKOPS_FILE = "models.skops"
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")
TORCH_METHODS = ("tsm-sl", "t-learner", "dfcl-pl", "dfcl-mer", "dfcl-ifd", "dfcl-ppl",
                 "dfcl-pifd", "dhcl")


def _package_version() -> str:
    # the distribution's metadata, not treatalloc.__version__: learners may not import the CLI
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("treatalloc")
    except PackageNotFoundError:
        return "unknown"


def model_dict(provider: Any) -> dict[str, Any]:
    """The model.toml content of a provider (TorchProvider or SklearnProvider)."""
    from learners.sklearn_adapter import SklearnProvider

    d: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "method": provider.method,
        "package_version": _package_version(),
        "seed": provider.seed,
        "arms": list(provider.arms),
        "weights": SKOPS_FILE if isinstance(provider, SklearnProvider) else TORCH_WEIGHTS,
        "hyperparameters": _toml_ready(provider.hyperparameters),
        "training": _toml_ready(provider.training),
    }
    targets: dict[str, Any] = {}
    if not isinstance(provider, SklearnProvider):
        targets.update(outcome_scale=provider.outcome_scale, cost_scale=provider.cost_scale)
    if provider.fixed_costs is not None:
        targets["fixed_costs"] = [float(x) for x in provider.fixed_costs]
    d["targets"] = targets
    d.update(provider.schema.to_dict())
    return d


def _toml_ready(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _toml_ready(v) for k, v in x.items() if v is not None}
    if isinstance(x, list | tuple):
        return [_toml_ready(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def save_model(provider: Any, folder: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write ``provider`` to ``folder`` (refused if it exists, unless ``force``)."""
    import tomli_w

    from learners.sklearn_adapter import SklearnProvider

    target = Path(folder)
    if target.exists() and not force:
        raise UsageError(f"--model-dir {str(target)!r}: already exists; give another folder or "
                         "--force to replace it")
    body = model_dict(provider)
    with atomic_dir(target, replace=force) as tmp:
        if isinstance(provider, SklearnProvider):
            import skops.io as sio

            sio.dump({"value": provider.value_models, "cost": provider.cost_models},
                     tmp / SKOPS_FILE)
        else:
            import torch

            torch.save(provider.network.state_dict(), tmp / TORCH_WEIGHTS)
        (tmp / MODEL_FILE).write_text(tomli_w.dumps(body), encoding="utf-8")
        log = getattr(provider, "training_log", None)
        if log is not None:
            from learners.training_log import write_training_log

            title = f"{provider.method} on {provider.training.get('data')}"
            write_training_log(log, tmp, title=title)
    return target


def read_model_toml(folder: str | os.PathLike[str]) -> tuple[dict[str, Any], Path]:
    p = Path(folder)
    path = p / MODEL_FILE if p.is_dir() else p
    if not path.exists():
        raise InstanceError(str(path), "", "no saved model here (expected a folder written by "
                            "`treatalloc fit --model-dir`, holding model.toml)")
    try:
        with path.open("rb") as f:
            meta = tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InstanceError(str(path), "", f"malformed model.toml: {e}") from None
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise InstanceError(str(path), "format_version",
                            f"model format version {version!r}; this treatalloc "
                            f"({_package_version()}) reads version {FORMAT_VERSION} only: refit "
                            "the model with this version")
    for key in ("method", "arms", "weights", "features"):
        if key not in meta:
            raise InstanceError(str(path), key, "missing")
    return meta, path


def load_model(folder: str | os.PathLike[str], *, trusted: tuple[str, ...] = ()) -> Any:
    """The provider saved in ``folder``. ``trusted`` adds type-name prefixes a skops file may
    contain besides scikit-learn/numpy/scipy (e.g. ``("lightgbm.",)`` for a LightGBM model)."""
    meta, path = read_model_toml(folder)
    src = str(path)
    schema = FeatureSchema.from_dict(meta, src)
    arms = tuple(str(a) for a in meta["arms"])
    targets = meta.get("targets", {})
    fixed = targets.get("fixed_costs")
    fixed_costs = None if fixed is None else np.asarray(fixed, dtype=np.float64)
    weights = path.parent / str(meta["weights"])
    if not weights.exists():
        raise InstanceError(str(weights), "", "weights file missing (the model folder is "
                            "incomplete)")
    method = meta["method"]
    hyper = dict(meta.get("hyperparameters", {}))
    if method == "sklearn":
        return _load_sklearn(meta, weights, schema, arms, fixed_costs, hyper, trusted)
    if method not in TORCH_METHODS:
        raise InstanceError(src, "method", f"unknown method {method!r}; this version knows "
                            f"{[*TORCH_METHODS, 'sklearn']}")
    import torch

    from learners.known_costs import all_fixed
    from learners.networks import NETWORKS
    from learners.two_stage import TorchProvider

    hidden = tuple(int(h) for h in hyper.get("hidden", ()))
    outcome_scale = float(targets.get("outcome_scale", 1.0))
    cost_scale = float(targets.get("cost_scale", 1.0))
    shape = {"predict_cost": not all_fixed(fixed_costs), "outcome_scale": outcome_scale,
             "cost_scale": cost_scale}
    if method == "dhcl":
        from learners.dhcl import DHCLProvider, dhcl_network

        net = dhcl_network(schema.width, len(arms), hidden, **shape)
    else:
        # the decision-focused methods train TSM-SL's network on other losses
        net = NETWORKS.get(method, NETWORKS["tsm-sl"])(schema.width, len(arms), hidden, **shape)
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError, ValueError, OSError) as e:
        raise InstanceError(str(weights), "", f"weights do not match model.toml: "
                            f"{' '.join(str(e).split())[:300]}") from None
    net.eval()
    common = {"method": method, "arms": arms, "schema": schema, "network": net,
              "hidden": hidden, "outcome_scale": outcome_scale, "cost_scale": cost_scale,
              "fixed_costs": fixed_costs, "hyperparameters": hyper,
              "training": dict(meta.get("training", {})), "seed": int(meta.get("seed", 0))}
    if method == "dhcl":
        order = np.asarray(hyper.get("cost_order", range(len(arms))), dtype=np.int64)
        return DHCLProvider(order=order, **common)
    return TorchProvider(**common)


def _load_sklearn(
    meta: dict[str, Any], weights: Path, schema: FeatureSchema, arms: tuple[str, ...],
    fixed_costs: np.ndarray | None, hyper: dict[str, Any], trusted: tuple[str, ...],
) -> Any:
    import skops.io as sio

    from learners.sklearn_adapter import SklearnProvider

    allowed = TRUSTED_PREFIXES + tuple(trusted)
    types = sio.get_untrusted_types(file=weights)
    refused = [t for t in types if not t.startswith(allowed)]
    if refused:
        raise InstanceError(str(weights), "", f"refusing to load types outside "
                            f"{list(allowed)}: {refused[:5]}; load it with "
                            "learners.saved.load_model(..., trusted=(PREFIX,)) if you trust "
                            "where the file comes from")
    models = sio.load(weights, trusted=types)
    return SklearnProvider(
        method="sklearn", arms=arms, schema=schema,
        estimator=str(hyper.get("estimator", "")), mode=str(hyper.get("mode", "per-arm")),
        value_models=list(models["value"]),
        cost_models=None if models["cost"] is None else list(models["cost"]),
        fixed_costs=fixed_costs, params=dict(hyper.get("params", {})),
        training=dict(meta.get("training", {})), seed=int(meta.get("seed", 0)),
    )
