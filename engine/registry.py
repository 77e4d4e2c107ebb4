"""The explicit registry of solver backends: name -> (module, class), imported lazily."""

from __future__ import annotations

import importlib
from typing import Any

from engine.backend import Backend
from formulations.errors import UsageError

# One literal table; a backend's module is imported only when it is asked for, so a missing
# optional package (ortools, dask) never slows or breaks the others.
BACKENDS: dict[str, tuple[str, str]] = {
    "highs": ("engine.backends.highs", "HighsBackend"),
    "ortools": ("engine.backends.ortools_mathopt", "OrToolsMathOptBackend"),
    "ortools-cpsat": ("engine.backends.ortools_cpsat", "CpSatBackend"),
    "pyomo": ("engine.backends.pyomo_backend", "PyomoBackend"),
    "greedy": ("engine.backends.greedy", "GreedyBackend"),
    "dual": ("engine.dual.backend", "DualBackend"),
    "dual-exact": ("engine.dual.exact", "DualExactBackend"),
}

EXACT = ("highs", "ortools", "ortools-cpsat", "pyomo")


def available_solvers() -> list[str]:
    """Names whose module exists in this installation."""
    out = []
    for name, (module, _cls) in BACKENDS.items():
        if importlib.util.find_spec(module.rsplit(".", 1)[0]) is None:
            continue
        try:
            spec = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            spec = None
        if spec is not None:
            out.append(name)
    return out


def get_backend(name: str, **kwargs: Any) -> Backend:
    """Instantiate the backend called ``name``."""
    if name not in BACKENDS:
        raise UsageError(f"solver: unknown solver {name!r}; expected one of {sorted(BACKENDS)}")
    module_name, cls_name = BACKENDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        raise UsageError(
            f"solver {name!r} is not available in this installation ({e.name} is missing)"
        ) from None
    backend: Backend = getattr(module, cls_name)(**kwargs)
    return backend
