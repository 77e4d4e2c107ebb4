"""treatalloc: the CLI and a short facade of the public API.

>>> from treatalloc import load_instance, solve
>>> result = solve(load_instance("instances/demo/instance.toml"), "highs")
"""

from engine import SolveResult, available_solvers, solve
from formulations import Instance, evaluate, from_dense, load_instance, write_instance

__version__ = "0.1.0"

__all__ = [
    "Instance",
    "SolveResult",
    "__version__",
    "available_solvers",
    "evaluate",
    "from_dense",
    "load_instance",
    "solve",
    "write_instance",
]
